"""Bench-only: how many SQL statements a request ran, in an X-Queries response header."""

from django.db import connection


class QueryCountMiddleware:
    """Outermost middleware, so the session save and everything else in the chain count."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        count = 0

        def counter(execute, sql, params, many, context):
            nonlocal count
            count += 1
            return execute(sql, params, many, context)

        with connection.execute_wrapper(counter):
            response = self.get_response(request)
        response["X-Queries"] = str(count)
        return response
