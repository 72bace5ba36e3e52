{{
    config(
        materialized='incremental',
        incremental_strategy='window_replace',
        unique_key=['campaign_id', 'customer_key', 'response'],
        on_schema_change='fail',
        meta={'window_column': 'loaded_date'}
    )
}}

with

responses as (

    select * from {{ ref('stg_events') }}
    where
        {{ segments_window_filter('loaded_date') }}
        and event_type in ('email_open', 'email_click')

),

test_accounts as (

    select customer_key from {{ ref('int_test_accounts') }}

),

-- responses already built for a day before the window: a second open is not a new response
already_built as (

    {% if is_incremental() -%}
        select
            campaign_id,
            customer_key,
            response
        from {{ this }}
        where loaded_date < {{ segments_window_start() }}
    {%- else -%}
        select
            cast(null as varchar) as campaign_id,
            cast(null as varchar) as customer_key,
            cast(null as varchar) as response
        where false
    {%- endif %}

),

labelled as (

    select
        *,
        case event_type when 'email_open' then 'open' else 'click' end as response
    from responses

),

first_response_in_window as (

    select *
    from labelled
    qualify
        row_number() over (
            partition by campaign_id, customer_key, response
            order by event_ts, event_id
        ) = 1

),

new_responses as (

    select first_response_in_window.*
    from first_response_in_window
    anti join already_built
        on
            first_response_in_window.campaign_id = already_built.campaign_id
            and first_response_in_window.customer_key = already_built.customer_key
            and first_response_in_window.response = already_built.response

),

real_customer_responses as (

    select new_responses.*
    from new_responses
    anti join test_accounts
        on new_responses.customer_key = test_accounts.customer_key

),

final as (

    select
        cast(campaign_id as varchar) as campaign_id,
        cast(customer_key as varchar) as customer_key,
        cast(response as varchar) as response,
        cast(event_ts as timestamp with time zone) as responded_at,
        cast(loaded_date as date) as loaded_date
    from real_customer_responses

)

select * from final
