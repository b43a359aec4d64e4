"""The HTTP side: middleware, the route table, controllers, and the error table."""
