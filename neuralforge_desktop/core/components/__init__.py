"""Reusable named blocks with exposed parameters: built-ins and the user's own library."""
