{{ config(materialized='table') }}

with

crm_records as (

    select
        customer_key,
        is_test_account
    from {{ ref('stg_customers') }}

),

orders as (

    select
        customer_key,
        is_test_account
    from {{ ref('stg_orders') }}

),

flagged_records as (

    select customer_key
    from crm_records
    where is_test_account
    union
    select customer_key
    from orders
    where is_test_account

),

final as (

    select distinct customer_key
    from flagged_records

)

select * from final
