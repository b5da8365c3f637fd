"""render_template's rendering: Tera features plugins use, and its errors."""

import json

import pytest

from babel_api.templates import TemplateError, render_template_text


def render(template: str, **params: object) -> str:
    return render_template_text(template, json.dumps(params), name="node.toml")


def test_named_filter_arguments_raw_loops_and_conditions():
    template = (
        '{{ chain | replace(from="-", to="_") }}\n'
        "{% raw %}{{ kept }}{% endraw %}\n"
        "{% for peer in peers %}{{ loop.index }}={{ peer }};{% endfor %}\n"
        "{% if archive %}archive{% elif pruned %}pruned{% else %}full{% endif %}"
    )
    rendered = render(template, chain="eth-main-net", peers=["a", "b"], archive=False, pruned=True)
    assert rendered == "eth_main_net\n{{ kept }}\n1=a;2=b;\npruned"


def test_params_must_be_a_json_object():
    with pytest.raises(TemplateError, match="params must be a JSON object, got list"):
        render_template_text("x", "[1, 2]")
    with pytest.raises(TemplateError, match="params are not JSON"):
        render_template_text("x", "{nope")


def test_template_errors_name_the_file_and_the_cause():
    with pytest.raises(TemplateError) as info:
        render("port = {{ rpc_port }}")
    assert str(info.value).startswith("failed to render template file with: ")
    assert "node.toml" in str(info.value)
    assert "rpc_port" in str(info.value)
