{{
    config(
        materialized='incremental',
        incremental_strategy='window_replace',
        unique_key='order_id',
        on_schema_change='fail',
        meta={'window_column': 'loaded_date'}
    )
}}

with

orders as (

    select * from {{ ref('stg_orders') }}
    where {{ segments_window_filter('loaded_date') }}

),

test_accounts as (

    select customer_key from {{ ref('int_test_accounts') }}

),

-- orders already built for a day before the window: a copy re-delivered inside the window is not new
already_built as (

    {% if is_incremental() -%}
        select order_id from {{ this }}
        where loaded_date < {{ segments_window_start() }}
    {%- else -%}
        select cast(null as varchar) as order_id
        where false
    {%- endif %}

),

first_delivery_in_window as (

    select *
    from orders
    qualify
        row_number() over (
            partition by order_id
            order by loaded_date, source_file, source_row
        ) = 1

),

new_orders as (

    select first_delivery_in_window.*
    from first_delivery_in_window
    anti join already_built
        on first_delivery_in_window.order_id = already_built.order_id

),

real_customer_orders as (

    select new_orders.*
    from new_orders
    anti join test_accounts
        on new_orders.customer_key = test_accounts.customer_key
    where not new_orders.is_test_account

),

final as (

    select
        cast(order_id as varchar) as order_id,
        cast(customer_key as varchar) as customer_key,
        cast(order_ts as timestamp with time zone) as order_ts,
        cast(order_date as date) as order_date,
        cast(loaded_date as date) as loaded_date,
        cast(status as varchar) as status,
        cast(is_completed as boolean) as is_completed,
        cast(gross_amount_eur as decimal(18, 2)) as gross_amount_eur,
        cast(discount_amount_eur as decimal(18, 2)) as discount_amount_eur,
        cast(net_amount_eur as decimal(18, 2)) as net_amount_eur,
        cast(currency as varchar) as currency,
        cast(channel as varchar) as channel,
        cast(product_category as varchar) as product_category
    from real_customer_orders

)

select * from final
