{#- EUR rate for a currency column from var fx_rates_to_eur; unknown currency -> null (tested in stg_orders). -#}
{% macro fx_rate_to_eur(currency_column) -%}
    {%- set rates = var('fx_rates_to_eur') -%}
    case {{ currency_column }}
        {%- for code, rate in rates.items() | sort %}
        when '{{ code | upper }}' then cast({{ rate }} as decimal(18, 6))
        {%- endfor %}
    end
{%- endmacro %}

{#- Known currency codes, for accepted_values tests. -#}
{% macro fx_currencies() -%}
    {{ return(var('fx_rates_to_eur').keys() | map('upper') | sort | list) }}
{%- endmacro %}

{#- UTC calendar date of a timestamptz, independent of the DuckDB session TimeZone. -#}
{% macro utc_date(timestamp_column) -%}
    cast(timezone('UTC', {{ timestamp_column }}) as date)
{%- endmacro %}
