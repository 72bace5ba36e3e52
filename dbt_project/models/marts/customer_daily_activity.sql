{{
    config(
        materialized='incremental',
        incremental_strategy='window_replace',
        on_schema_change='fail',
        meta={'window_column': 'activity_date'}
    )
}}

with

orders as (

    select
        customer_key,
        loaded_date,
        is_completed,
        net_amount_eur,
        discount_amount_eur
    from {{ ref('fct_orders') }}
    where {{ segments_window_filter('loaded_date') }}

),

behaviour as (

    select * from {{ ref('int_customer_daily_behaviour') }}
    where {{ segments_window_filter('activity_date') }}

),

test_accounts as (

    select customer_key from {{ ref('int_test_accounts') }}

),

daily_orders as (

    select
        customer_key,
        loaded_date as activity_date,
        count(*) as orders_placed,
        count(*) filter (where is_completed) as orders_completed,
        coalesce(sum(net_amount_eur) filter (where is_completed), 0) as net_revenue_eur,
        coalesce(sum(discount_amount_eur) filter (where is_completed), 0) as discount_eur
    from orders
    group by customer_key, loaded_date

),

joined as (

    select
        behaviour.csat_sum,
        coalesce(daily_orders.customer_key, behaviour.customer_key) as customer_key,
        coalesce(daily_orders.activity_date, behaviour.activity_date) as activity_date,
        coalesce(daily_orders.orders_placed, 0) as orders_placed,
        coalesce(daily_orders.orders_completed, 0) as orders_completed,
        coalesce(daily_orders.net_revenue_eur, 0) as net_revenue_eur,
        coalesce(daily_orders.discount_eur, 0) as discount_eur,
        coalesce(behaviour.sessions, 0) as sessions,
        coalesce(behaviour.session_seconds, 0) as session_seconds,
        coalesce(behaviour.page_views, 0) as page_views,
        coalesce(behaviour.product_views, 0) as product_views,
        coalesce(behaviour.add_to_cart_events, 0) as add_to_cart_events,
        coalesce(behaviour.checkout_started_events, 0) as checkout_started_events,
        coalesce(behaviour.emails_sent, 0) as emails_sent,
        coalesce(behaviour.email_opens, 0) as email_opens,
        coalesce(behaviour.email_clicks, 0) as email_clicks,
        coalesce(behaviour.app_opens, 0) as app_opens,
        coalesce(behaviour.social_interactions, 0) as social_interactions,
        coalesce(behaviour.survey_responses, 0) as survey_responses,
        coalesce(behaviour.csat_satisfied_responses, 0) as csat_satisfied_responses
    from daily_orders
    full outer join behaviour
        on
            daily_orders.customer_key = behaviour.customer_key
            and daily_orders.activity_date = behaviour.activity_date

),

real_customer_days as (

    select joined.*
    from joined
    anti join test_accounts
        on joined.customer_key = test_accounts.customer_key

),

final as (

    select
        cast(customer_key as varchar) as customer_key,
        cast(activity_date as date) as activity_date,
        cast(orders_placed as integer) as orders_placed,
        cast(orders_completed as integer) as orders_completed,
        cast(net_revenue_eur as decimal(18, 2)) as net_revenue_eur,
        cast(discount_eur as decimal(18, 2)) as discount_eur,
        cast(sessions as integer) as sessions,
        cast(session_seconds as bigint) as session_seconds,
        cast(page_views as integer) as page_views,
        cast(product_views as integer) as product_views,
        cast(add_to_cart_events as integer) as add_to_cart_events,
        cast(checkout_started_events as integer) as checkout_started_events,
        cast(emails_sent as integer) as emails_sent,
        cast(email_opens as integer) as email_opens,
        cast(email_clicks as integer) as email_clicks,
        cast(app_opens as integer) as app_opens,
        cast(social_interactions as integer) as social_interactions,
        cast(survey_responses as integer) as survey_responses,
        cast(csat_sum as integer) as csat_sum,
        cast(csat_satisfied_responses as integer) as csat_satisfied_responses
    from real_customer_days

)

select * from final
