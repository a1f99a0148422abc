{#- Models land in the schema (BigQuery dataset) named after the case, not "<target schema>_callcenter". -#}
{% macro generate_schema_name(custom_schema_name, node) -%}
    {{ custom_schema_name if custom_schema_name is not none else target.schema }}
{%- endmacro %}
