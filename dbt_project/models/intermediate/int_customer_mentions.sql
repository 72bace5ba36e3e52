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

mentions as (

    {% for source in ['stg_customers', 'stg_orders', 'stg_events'] -%}
        select
            customer_key,
            loaded_date
        from {{ ref(source) }}
        where {{ segments_window_filter('loaded_date') }}
        {% if not loop.last %}union{% endif %}
    {% endfor %}

)

select
    cast(customer_key as varchar) as customer_key,
    cast(loaded_date as date) as loaded_date
from mentions
