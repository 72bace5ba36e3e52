with

source as (

    select * from {{ source('bronze', 'orders') }}

),

renamed as (

    select
        order_id,
        customer_key,
        is_test_account,
        order_ts,
        status,
        currency,
        channel,
        product_category,
        source_file,
        source_row,
        dt as loaded_date,
        cast(amount as decimal(18, 2)) as gross_amount,
        cast(discount as decimal(18, 2)) as discount_amount
    from source

),

-- one row per order and delivery day; the partition key keeps the hive dt filter pushable
deduplicated as (

    select *
    from renamed
    qualify
        row_number() over (
            partition by order_id, loaded_date
            order by source_file, source_row
        ) = 1

),

converted as (

    select
        *,
        {{ fx_rate_to_eur('currency') }} as fx_rate_to_eur
    from deduplicated

),

final as (

    select
        order_id,
        customer_key,
        is_test_account,
        order_ts,
        {{ utc_date('order_ts') }} as order_date,
        loaded_date,
        status,
        status not in ('cancelled', 'refunded') as is_completed,
        currency,
        fx_rate_to_eur,
        cast(round(gross_amount * fx_rate_to_eur, 2) as decimal(18, 2)) as gross_amount_eur,
        cast(round(discount_amount * fx_rate_to_eur, 2) as decimal(18, 2)) as discount_amount_eur,
        cast(
            round(gross_amount * fx_rate_to_eur, 2) - round(discount_amount * fx_rate_to_eur, 2)
            as decimal(18, 2)
        ) as net_amount_eur,
        channel,
        product_category,
        source_file,
        source_row
    from converted

)

select * from final
