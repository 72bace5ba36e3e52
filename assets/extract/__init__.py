"""Extract: landing files → pandera gate → pseudonymised bronze Parquet, one partition per delivery day."""
