with

crm_records as (

    select * from {{ ref('stg_customers') }}
    where loaded_date <= {{ segments_window_end() }}

),

test_accounts as (

    select customer_key from {{ ref('int_test_accounts') }}

),

first_mentions as (

    select
        customer_key,
        min(loaded_date) as first_loaded_date
    from {{ ref('int_customer_mentions') }}
    where loaded_date <= {{ segments_window_end() }}
    group by customer_key

),

consent_flagged as (

    select
        customer_key,
        updated_at,
        coalesce(
            marketing_consent != lag(marketing_consent) over (
                partition by customer_key
                order by updated_at, loaded_date, source_file, source_row
            ),
            true
        ) as is_consent_change
    from crm_records

),

consent_changes as (

    select
        customer_key,
        max(updated_at) as consent_updated_at
    from consent_flagged
    where is_consent_change
    group by customer_key

),

latest_records as (

    select *
    from crm_records
    qualify
        row_number() over (
            partition by customer_key
            order by updated_at desc, loaded_date desc, source_file desc, source_row desc
        ) = 1

),

real_customers as (

    select first_mentions.*
    from first_mentions
    anti join test_accounts
        on first_mentions.customer_key = test_accounts.customer_key

),

final as (

    select
        cast(real_customers.customer_key as varchar) as customer_key,
        cast(latest_records.signup_date as date) as signup_date,
        cast(latest_records.birth_month as integer) as birth_month,
        cast(latest_records.birth_day as integer) as birth_day,
        cast(latest_records.country as varchar) as country,
        cast(latest_records.marketing_consent as boolean) as marketing_consent,
        cast(consent_changes.consent_updated_at as timestamp with time zone) as consent_updated_at,
        cast(latest_records.updated_at as timestamp with time zone) as updated_at,
        cast(real_customers.first_loaded_date as date) as first_loaded_date,
        cast(latest_records.customer_key is not null as boolean) as is_in_crm
    from real_customers
    left join latest_records
        on real_customers.customer_key = latest_records.customer_key
    left join consent_changes
        on real_customers.customer_key = consent_changes.customer_key

)

select * from final
