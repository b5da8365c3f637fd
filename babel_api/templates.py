"""`render_template` as babel does it: Tera templates with a JSON object of params as their context.

The node agent reads the template and writes the result inside the node; this module is the part in
between, shared by the agent and by tests of plugins, so that a template renders the same everywhere.
"""

import json

import tera


class TemplateError(ValueError):
    """A template that could not be rendered; the message gives Tera's cause chain."""


def render_template_text(template: str, params_json: str, name: str = "template") -> str:
    """Render `template` with the JSON object `params_json` as its context, registered as `name`.

    `name` is the destination's file name, so that Tera's messages point at the file being made.
    """
    try:
        params = json.loads(params_json)
    except json.JSONDecodeError as error:
        raise TemplateError(f"failed to render template file with: params are not JSON: {error}") from None
    if not isinstance(params, dict):
        raise TemplateError(
            f"failed to render template file with: params must be a JSON object, got {type(params).__name__}"
        )
    try:
        return tera.render(template, params, name=name)
    except tera.TeraError as error:
        raise TemplateError(f"failed to render template file with: {error}") from None
