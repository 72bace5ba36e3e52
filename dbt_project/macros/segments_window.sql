{#-
    The delivery-day window being (re)built, from the vars min_date / max_date (ISO dates, inclusive).
    Every incremental mart filters with segments_window_filter(<its delivery-day column>).
-#}
{% macro segments_window_bounds() %}
    {%- set min_date = var('min_date') | string -%}
    {%- set max_date = var('max_date') | string -%}
    {%- for value in [min_date, max_date] -%}
        {%- if not modules.re.match('^\d{4}-\d{2}-\d{2}$', value) -%}
            {{ exceptions.raise_compiler_error("vars min_date/max_date must be ISO dates (YYYY-MM-DD), got '" ~ value ~ "'") }}
        {%- endif -%}
    {%- endfor -%}
    {%- if min_date > max_date -%}
        {{ exceptions.raise_compiler_error("var min_date (" ~ min_date ~ ") is after max_date (" ~ max_date ~ ")") }}
    {%- endif -%}
    {{ return([min_date, max_date]) }}
{% endmacro %}

{% macro segments_window_filter(column) -%}
    {%- set bounds = segments_window_bounds() -%}
    {{ column }} between date '{{ bounds[0] }}' and date '{{ bounds[1] }}'
{%- endmacro %}

{% macro segments_window_start() -%}
    date '{{ segments_window_bounds()[0] }}'
{%- endmacro %}

{% macro segments_window_end() -%}
    date '{{ segments_window_bounds()[1] }}'
{%- endmacro %}
