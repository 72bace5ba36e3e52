{{
    config(
        materialized='incremental',
        incremental_strategy='window_replace',
        unique_key=['campaign_id', 'customer_key'],
        on_schema_change='fail',
        meta={'window_column': 'loaded_date'}
    )
}}

with

sends as (

    select * from {{ ref('stg_events') }}
    where
        {{ segments_window_filter('loaded_date') }}
        and event_type = 'email_sent'

),

test_accounts as (

    select customer_key from {{ ref('int_test_accounts') }}

),

-- exposures already built for a day before the window: a later re-send is not a new exposure
already_built as (

    {% if is_incremental() -%}
        select
            campaign_id,
            customer_key
        from {{ this }}
        where loaded_date < {{ segments_window_start() }}
    {%- else -%}
        select
            cast(null as varchar) as campaign_id,
            cast(null as varchar) as customer_key
        where false
    {%- endif %}

),

first_send_in_window as (

    select *
    from sends
    qualify
        row_number() over (
            partition by campaign_id, customer_key
            order by event_ts, event_id
        ) = 1

),

new_exposures as (

    select first_send_in_window.*
    from first_send_in_window
    anti join already_built
        on
            first_send_in_window.campaign_id = already_built.campaign_id
            and first_send_in_window.customer_key = already_built.customer_key

),

real_customer_exposures as (

    select new_exposures.*
    from new_exposures
    anti join test_accounts
        on new_exposures.customer_key = test_accounts.customer_key

),

final as (

    select
        cast(campaign_id as varchar) as campaign_id,
        cast(customer_key as varchar) as customer_key,
        cast(variant as varchar) as variant,
        cast(event_ts as timestamp with time zone) as exposed_at,
        cast(event_date as date) as exposure_date,
        cast(loaded_date as date) as loaded_date
    from real_customer_exposures

)

select * from final
