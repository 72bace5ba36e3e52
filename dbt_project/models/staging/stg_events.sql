{{
    config(
        materialized='incremental',
        incremental_strategy='window_replace',
        unique_key='event_id',
        on_schema_change='fail',
        meta={'window_column': 'loaded_date'}
    )
}}

-- A table, not a view: at two years (50 M events) every reader and every test of a view re-ran the
-- deduplication below over the whole window; built once per run, they scan its result instead.
with

source as (

    select * from {{ source('bronze', 'events') }}
    where {{ segments_window_filter('dt') }}

),

-- second import of the same source (keys only, every partition): a CTE referenced twice would be
-- materialised by DuckDB, which would read every partition's full rows instead of the window's
earlier_delivery_keys as (

    select
        event_id,
        dt as loaded_date
    from {{ source('bronze', 'events') }}

),

renamed as (

    select
        event_id,
        customer_key,
        event_type,
        event_ts,
        channel,
        product_category,
        campaign_id,
        variant,
        source_file,
        source_row,
        dt as loaded_date,
        cast(csat_score as integer) as csat_score
    from source

),

deduplicated_within_delivery as (

    select *
    from renamed
    qualify
        row_number() over (
            partition by event_id, loaded_date
            order by source_file, source_row
        ) = 1

),

-- keep only the first delivery of an event: drop copies re-delivered on a later day
first_deliveries as (

    select current_delivery.*
    from deduplicated_within_delivery as current_delivery
    anti join earlier_delivery_keys as earlier_delivery
        on
            current_delivery.event_id = earlier_delivery.event_id
            and current_delivery.loaded_date > earlier_delivery.loaded_date

),

final as (

    select
        event_id,
        customer_key,
        event_type,
        event_ts,
        {{ utc_date('event_ts') }} as event_date,
        loaded_date,
        channel,
        channel in ('web', 'app') as is_session_event,
        product_category,
        campaign_id,
        variant,
        csat_score,
        source_file,
        source_row
    from first_deliveries

)

select * from final
