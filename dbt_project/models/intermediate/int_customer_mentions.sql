{{
    config(
        materialized='incremental',
        incremental_strategy='window_replace',
        on_schema_change='fail',
        meta={'window_column': 'loaded_date'}
    )
}}

-- dim_customers takes each customer's first delivery day from here: a daily run adds one day of
-- mentions instead of rescanning every order and event ever delivered.
with

crm_mentions as (

    select
        customer_key,
        loaded_date
    from {{ ref('stg_customers') }}
    where {{ segments_window_filter('loaded_date') }}

),

order_mentions as (

    select
        customer_key,
        loaded_date
    from {{ ref('stg_orders') }}
    where {{ segments_window_filter('loaded_date') }}

),

event_mentions as (

    select
        customer_key,
        loaded_date
    from {{ ref('stg_events') }}
    where {{ segments_window_filter('loaded_date') }}

),

mentions as (

    select
        customer_key,
        loaded_date
    from crm_mentions
    union
    select
        customer_key,
        loaded_date
    from order_mentions
    union
    select
        customer_key,
        loaded_date
    from event_mentions

)

select
    cast(customer_key as varchar) as customer_key,
    cast(loaded_date as date) as loaded_date
from mentions
