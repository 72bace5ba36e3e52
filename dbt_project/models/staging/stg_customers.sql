with

source as (

    select * from {{ source('bronze', 'customers') }}

),

renamed as (

    select
        customer_key,
        is_test_account,
        signup_date,
        country,
        marketing_consent,
        updated_at,
        source_file,
        source_row,
        dt as loaded_date,
        cast(birth_month as integer) as birth_month,
        cast(birth_day as integer) as birth_day
    from source

),

-- one CRM record per customer and delivery day: the most recently updated one
deduplicated as (

    select *
    from renamed
    qualify
        row_number() over (
            partition by customer_key, loaded_date
            order by updated_at desc, source_file desc, source_row desc
        ) = 1

),

final as (

    select
        customer_key,
        is_test_account,
        signup_date,
        birth_month,
        birth_day,
        country,
        marketing_consent,
        updated_at,
        loaded_date,
        source_file,
        source_row
    from deduplicated

)

select * from final
