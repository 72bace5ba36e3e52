"""Transform: the dbt project (dbt_project/) as Dagster assets, one dbt invocation per run."""
