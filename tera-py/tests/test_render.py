"""Rendering as Babel's `render_template` does: Tera's syntax, no autoescaping, whole error chains."""

import threading

import pytest
import tera


def test_public_names():
    assert set(tera.__all__) == {"TeraError", "render"}
    assert issubclass(tera.TeraError, Exception)


def test_variables_and_nested_maps():
    context = {"node": {"name": "eth-1", "ports": {"rpc": 8545}}, "count": 3, "ratio": 0.5, "on": True}
    text = "{{ node.name }} {{ node.ports.rpc }} {{ count + 1 }} {{ ratio }} {{ on }}"
    assert tera.render(text, context) == "eth-1 8545 4 0.5 true"


def test_none_renders_as_null_json():
    assert tera.render("{{ x | json_encode }}", {"x": None}) == "null"


def test_for_loop_with_loop_index():
    text = "{% for peer in peers %}{{ loop.index }}={{ peer }}{% if not loop.last %},{% endif %}{% endfor %}"
    assert tera.render(text, {"peers": ["a", "b", "c"]}) == "1=a,2=b,3=c"


def test_tuple_is_an_array():
    assert tera.render("{{ xs | length }} {{ xs | first }}", {"xs": (7, 8)}) == "2 7"


def test_for_over_map():
    text = "{% for key, value in m %}{{ key }}:{{ value }};{% endfor %}"
    assert tera.render(text, {"m": {"a": 1, "b": 2}}) == "a:1;b:2;"


@pytest.mark.parametrize(("net", "expected"), [("main", "M"), ("test", "T"), ("dev", "D")])
def test_if_elif_else(net, expected):
    text = '{% if net == "main" %}M{% elif net == "test" %}T{% else %}D{% endif %}'
    assert tera.render(text, {"net": net}) == expected


def test_named_filter_arguments():
    text = '{{ name | replace(from="-", to="_") | upper }}'
    assert tera.render(text, {"name": "eth-node-1"}) == "ETH_NODE_1"


def test_default_filter():
    text = '{{ missing | default(value="x") }} {{ present | default(value="x") }}'
    assert tera.render(text, {"present": "p"}) == "x p"


def test_join_length_and_json_encode():
    context = {"xs": ["a", "b"], "cfg": {"k": [1, None, True]}}
    text = '{{ xs | join(sep=", ") }} {{ xs | length }} {{ cfg | json_encode }}'
    assert tera.render(text, context) == 'a, b 2 {"k":[1,null,true]}'


def test_is_defined_test():
    text = "{% if x is defined %}yes{% else %}no{% endif %}{% if y is defined %}yes{% else %}no{% endif %}"
    assert tera.render(text, {"x": 0}) == "yesno"


def test_raw_block_is_not_rendered():
    assert tera.render("{% raw %}{{ not rendered }}{% endraw %}", {}) == "{{ not rendered }}"


def test_set():
    text = '{% set port = base + 1 %}{% set host = "h" %}{{ host }}:{{ port }}'
    assert tera.render(text, {"base": 30}) == "h:31"


def test_whitespace_control():
    text = "a\n{%- if true -%}\n  b\n{%- endif -%}\nc"
    assert tera.render(text, {}) == "abc"


def test_autoescape_is_off_even_for_html_names():
    assert tera.render("{{ s }}", {"s": "<&>\"'"}) == "<&>\"'"
    assert tera.render("{{ s }}", {"s": "<&>"}, name="index.html") == "<&>"


def test_large_integers():
    context = {"a": 2**64 - 1, "b": -(2**63)}
    assert tera.render("{{ a }} {{ b }}", context) == "18446744073709551615 -9223372036854775808"


def test_name_is_keyword_only():
    with pytest.raises(TypeError):
        tera.render("x", {}, "name")  # type: ignore[misc]


def test_syntax_error_names_template_and_position():
    with pytest.raises(tera.TeraError) as info:
        tera.render("a = 1\n{% if x %}\n  b = {{ x | }}\n{% endif %}", {"x": 1}, name="config.toml")
    message = str(info.value)
    assert message.startswith("Failed to parse 'config.toml': ")
    assert "--> 3:14" in message
    assert "{{ x | }}" in message


def test_undefined_variable_names_the_variable():
    with pytest.raises(tera.TeraError) as info:
        tera.render("port = {{ rpc_port }}", {}, name="node.toml")
    message = str(info.value)
    assert message.startswith("Failed to render 'node.toml': ")
    assert "Variable `rpc_port` not found in context" in message


def test_filter_error_carries_the_cause_chain():
    with pytest.raises(tera.TeraError) as info:
        tera.render("{{ x | replace(from=1, to='') }}", {"x": "a"})
    message = str(info.value)
    assert message.startswith("Failed to render 'template': Filter call 'replace' failed: ")
    assert "`from`" in message


def test_set_value_is_type_error_naming_the_path():
    with pytest.raises(TypeError) as info:
        tera.render("", {"a": [1, 2, {3}]})
    assert str(info.value) == "context['a'][2]: cannot use a set in a Tera context"


def test_non_str_key_is_type_error_naming_the_path():
    with pytest.raises(TypeError) as info:
        tera.render("", {"a": {"ok": 1, 1: 2}})
    assert str(info.value).startswith("context['a']: a Tera context key must be a str, not int")


def test_context_must_be_a_dict():
    with pytest.raises(TypeError, match="not list"):
        tera.render("", [1])  # type: ignore[arg-type]


def test_unrepresentable_numbers():
    with pytest.raises(OverflowError, match=r"context\['x'\]"):
        tera.render("", {"x": 2**64})
    with pytest.raises(ValueError, match=r"context\['x'\]: nan"):
        tera.render("", {"x": float("nan")})
    with pytest.raises(ValueError, match=r"context\['y'\]\[0\]: inf"):
        tera.render("", {"y": [float("inf")]})


def test_self_containing_context_is_refused():
    context: dict = {}
    context["me"] = context
    with pytest.raises(RecursionError):
        tera.render("", context)


def test_renders_from_threads():
    results: list[str] = []

    def work(i: int) -> None:
        results.append(tera.render("{% for x in xs %}{{ x }}{% endfor %}", {"xs": list(range(i))}))

    threads = [threading.Thread(target=work, args=(i,)) for i in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(results) == sorted("".join(map(str, range(i))) for i in range(8))
