with

events as (

    select
        customer_key,
        loaded_date,
        event_type,
        csat_score
    from {{ ref('stg_events') }}

),

sessions as (

    select
        customer_key,
        loaded_date,
        duration_seconds
    from {{ ref('int_sessions') }}

),

daily_events as (

    select
        customer_key,
        loaded_date as activity_date,
        count(*) filter (where event_type = 'page_view') as page_views,
        count(*) filter (where event_type = 'product_view') as product_views,
        count(*) filter (where event_type = 'add_to_cart') as add_to_cart_events,
        count(*) filter (where event_type = 'checkout_started') as checkout_started_events,
        count(*) filter (where event_type = 'email_sent') as emails_sent,
        count(*) filter (where event_type = 'email_open') as email_opens,
        count(*) filter (where event_type = 'email_click') as email_clicks,
        count(*) filter (where event_type = 'app_open') as app_opens,
        count(*) filter (where event_type = 'social_interaction') as social_interactions,
        count(*) filter (where event_type = 'survey_response') as survey_responses,
        sum(csat_score) filter (where event_type = 'survey_response') as csat_sum,
        -- "satisfied" is the usual top-two-box reading of a 1-5 CSAT scale
        count(*) filter (where event_type = 'survey_response' and csat_score >= 4) as csat_satisfied_responses
    from events
    group by customer_key, loaded_date

),

daily_sessions as (

    select
        customer_key,
        loaded_date as activity_date,
        count(*) as sessions,
        sum(duration_seconds) as session_seconds
    from sessions
    group by customer_key, loaded_date

),

-- every session consists of events of the same customer and day, so the left join keeps all sessions
final as (

    select
        daily_events.customer_key,
        daily_events.activity_date,
        daily_events.page_views,
        daily_events.product_views,
        daily_events.add_to_cart_events,
        daily_events.checkout_started_events,
        daily_events.emails_sent,
        daily_events.email_opens,
        daily_events.email_clicks,
        daily_events.app_opens,
        daily_events.social_interactions,
        daily_events.survey_responses,
        daily_events.csat_sum,
        daily_events.csat_satisfied_responses,
        coalesce(daily_sessions.sessions, 0) as sessions,
        coalesce(daily_sessions.session_seconds, 0) as session_seconds
    from daily_events
    left join daily_sessions
        on
            daily_events.customer_key = daily_sessions.customer_key
            and daily_events.activity_date = daily_sessions.activity_date

)

select * from final
