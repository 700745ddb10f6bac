"""Team features over the one store: who is acting, roles, comments, portfolio and cost, sharing."""
