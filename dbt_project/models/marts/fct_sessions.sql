{{
    config(
        materialized='incremental',
        incremental_strategy='window_replace',
        on_schema_change='fail',
        meta={'window_column': 'loaded_date'}
    )
}}

with

sessions as (

    select * from {{ ref('int_sessions') }}
    where {{ segments_window_filter('loaded_date') }}

),

test_accounts as (

    select customer_key from {{ ref('int_test_accounts') }}

),

real_customer_sessions as (

    select sessions.*
    from sessions
    anti join test_accounts
        on sessions.customer_key = test_accounts.customer_key

),

final as (

    select
        cast(session_id as varchar) as session_id,
        cast(customer_key as varchar) as customer_key,
        cast(channel as varchar) as channel,
        cast(session_start as timestamp with time zone) as session_start,
        cast(session_end as timestamp with time zone) as session_end,
        cast(session_date as date) as session_date,
        cast(loaded_date as date) as loaded_date,
        cast(duration_seconds as integer) as duration_seconds,
        cast(event_count as integer) as event_count,
        cast(page_views as integer) as page_views,
        cast(product_views as integer) as product_views,
        cast(add_to_cart_events as integer) as add_to_cart_events,
        cast(checkout_started_events as integer) as checkout_started_events,
        cast(app_opens as integer) as app_opens
    from real_customer_sessions

)

select * from final
