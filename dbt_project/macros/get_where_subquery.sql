{#-
    Override of dbt's get_where_subquery: a test `where` containing the placeholder `__delivery_window__`
    checks only the delivery days being rebuilt: [min_date, max_date] on the tested model's window
    column (config meta.window_column, else loaded_date when the model has that column). A model with
    neither (a table rebuilt whole, such as dim_customers) is tested whole.
    dbt_project.yml cannot call var() in configs at load time, so the placeholder defers it to compile time.
-#}
{% macro get_where_subquery(relation) -%}
    {%- set where = config.get('where') -%}
    {%- if where and '__delivery_window__' in where -%}
        {%- set column = segments_window_column(relation) -%}
        {%- set where = where | replace('__delivery_window__', segments_window_filter(column) if column else 'true') -%}
    {%- endif -%}
    {%- if where -%}
        {%- set filtered -%}
            (select * from {{ relation }} where {{ where }}) dbt_subquery
        {%- endset -%}
        {%- do return(filtered) -%}
    {%- else -%}
        {%- do return(relation) -%}
    {%- endif -%}
{%- endmacro %}

{% macro segments_window_column(relation) -%}
    {%- for node in graph.nodes.values() if node.resource_type == 'model' and node.alias == relation.identifier -%}
        {%- set configured = (node.config.meta or {}).get('window_column') -%}
        {%- do return(configured or ('loaded_date' if 'loaded_date' in node.columns else none)) -%}
    {%- endfor -%}
    {%- do return(none) -%}
{%- endmacro %}
