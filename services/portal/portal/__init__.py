"""The platform's web portal: server-rendered pages (Jinja2, htmx as an enhancement) over the four APIs.

It acts for the signed-in user with that user's token, reads no database and decides nothing the APIs
do not: every rule and every refusal comes from an API, shown in the user's language.
"""
