{#-
    Custom incremental strategy `window_replace` (dbt resolves get_incremental_<strategy>_sql).

    In one transaction:
      1. delete every target row whose window column (config meta.window_column) lies in the
         [min_date, max_date] window being rebuilt, so a re-run replaces the window exactly (idempotent,
         also when a day now has fewer rows than before);
      2. when unique_key is set, also delete target rows (outside the window) with a key that the new batch
         re-inserts: a later delivery of an order superseded by an earlier one that was built afterwards
         (out-of-order backfill);
      3. insert the batch.
-#}
{% macro get_incremental_window_replace_sql(arg_dict) %}
    {%- set target = arg_dict['target_relation'] -%}
    {%- set source = arg_dict['temp_relation'] -%}
    {%- set unique_key = arg_dict['unique_key'] -%}
    {%- set dest_cols_csv = get_quoted_csv(arg_dict['dest_columns'] | map(attribute='name')) -%}
    {%- set window_column = (config.get('meta') or {}).get('window_column') -%}
    {%- if not window_column -%}
        {{ exceptions.raise_compiler_error("incremental_strategy 'window_replace' needs config meta.window_column") }}
    {%- endif -%}
    {%- if unique_key is string -%}
        {%- set unique_key = [unique_key] -%}
    {%- endif %}
    delete from {{ target }}
    where {{ segments_window_filter(window_column) }}
    {%- if unique_key %}
        or ({{ unique_key | join(', ') }}) in (select ({{ unique_key | join(', ') }}) from {{ source }})
    {%- endif %};

    insert into {{ target }} ({{ dest_cols_csv }})
    select {{ dest_cols_csv }}
    from {{ source }}
{% endmacro %}
