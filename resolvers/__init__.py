"""Field logic, by domain: what each query, mutation and field does, given a Context."""
