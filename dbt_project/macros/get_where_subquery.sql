{#-
    Override of dbt's get_where_subquery: a test `where` containing the placeholder `__delivery_window__`
    checks only the delivery days being rebuilt (loaded_date in [min_date, max_date]).
    dbt_project.yml cannot call var() in configs at load time, so the placeholder defers it to compile time.
-#}
{% macro get_where_subquery(relation) -%}
    {%- set where = config.get('where') -%}
    {%- if where -%}
        {%- set where = where | replace('__delivery_window__', segments_window_filter('loaded_date')) -%}
        {%- set filtered -%}
            (select * from {{ relation }} where {{ where }}) dbt_subquery
        {%- endset -%}
        {%- do return(filtered) -%}
    {%- else -%}
        {%- do return(relation) -%}
    {%- endif -%}
{%- endmacro %}
