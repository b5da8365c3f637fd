"""Node images from local folders: babel.yaml parsing (YAML 1.2, tags, anchors), errors with places,
variant selection, node params, validation and lookup by reference."""

import textwrap
from pathlib import Path

import pytest

from babel_api.loading import load_protocol_plugin
from blockvisor_core.images import (
    ArchivePointerTarget,
    EnumOption,
    FirewallAction,
    FirewallDirection,
    FirewallProtocol,
    ImageError,
    Impact,
    MetadataEntry,
    ParamsError,
    PluginLoader,
    PluginSpec,
    Ramdisk,
    Rootfs,
    SwitchImpacts,
    UiType,
    Visibility,
    find_image,
    load_image,
    node_params,
    validate_image,
)

# Shaped like the original's babel.yaml template (spec §6.1), with anchors, aliases and a merge key.
BABEL_YAML = """\
version: 0.0.1
container_uri: docker://blockjoy/testing/main/0.0.1
protocol_key: testing
org_id: null
description: Testing image
dns_scheme: https
visibility: development
legacy_store_key: ignored, as every unknown key
firewall_config: &firewall
  default_in: deny
  default_out: allow
  rules:
    - key: example-rule
      description: an example rule
      protocol: both
      direction: in
      action: allow
      ips:
        - ip: 1.2.3.4/30
          name: authorize only this ip
      ports:
        - port: 12901
          name: protocol port
properties:
  - key: arbitrary-text-property
    name: Arbitrary text
    description: any text
    dynamic_value: true
    default_value: default-value
    ui_type: !text
  - key: switch-property
    name: Switch
    dynamic_value: true
    default_value: off
    ui_type: !switch
      on: &cheap {add_cpu: 1, add_memory_mb: 1000}
      off: null
  - key: enum-property
    name: Enum
    dynamic_value: false
    default_value: variant-a
    ui_type: !enum
      - value: variant-a
        name: Variant A
        impact: *cheap
      - value: variant-b
        name: Variant B
        impact:
          <<: *cheap
          new_archive: true
  - key: secret-property
    name: Secret
    dynamic_value: true
    default_value: ""
    ui_type: !password {add_disk_gb: -2}
variants:
  - key: client-testnet-full
    metadata:
      - key: client
        value: custom-client
        description: overrides the default
    sku_code: TST-TN-F
    archive_pointers:
      - pointer: !store_key testing-client-testnet-full-v1
        new_archive_properties: [enum-property]
      - pointer: !combination_disallowed
    min_cpu: 1
    min_memory_mb: 1000
    min_disk_gb: 2
    ramdisks:
      - mount: /mnt/ramdisk
        size_mb: 100
  - key: client-mainnet-archive
    sku_code: TST-MN-A
    min_cpu: 4
    min_memory_mb: 8000
    min_disk_gb: 100
    description: Mainnet archive
    visibility: public
    dns_scheme: http
    firewall_config:
      <<: *firewall
      default_in: allow
    properties:
      - key: only-mainnet
        name: Mainnet only
        dynamic_value: false
        default_value: "yes"
        ui_type: !text {new_archive: true}
plugin:
  loader: rhai
  path: plugin
rootfs:
  folder: rootfs
"""


def make_image(folder: Path, text: str = BABEL_YAML) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "babel.yaml").write_text(textwrap.dedent(text))
    return folder


def edited(old: str, new: str, text: str = BABEL_YAML) -> str:
    assert old in text
    return text.replace(old, new, 1)


def minimal(protocol: str = "testing", variants: tuple[str, ...] = ("main",), version: str = "1.0.0") -> str:
    listed = "".join(
        f"\n  - {{key: {key}, sku_code: TST-A-B, min_cpu: 1, min_memory_mb: 1, min_disk_gb: 1}}"
        for key in variants
    )
    return (
        f"version: {version}\nprotocol_key: {protocol}\nvisibility: public\nproperties: []\n"
        f"rootfs: {{host: true}}\nvariants:{listed or ' []'}\n"
    )


def load_error(tmp_path: Path, text: str) -> str:
    make_image(tmp_path / "image", text)
    with pytest.raises(ImageError) as error:
        load_image(tmp_path / "image")
    return str(error.value)


@pytest.fixture
def image(tmp_path):
    return load_image(make_image(tmp_path / "image"))


# --- parsing -------------------------------------------------------------------------------------------


def test_the_image_fields_are_read(image, tmp_path):
    assert image.version == "0.0.1"
    assert image.container_uri == "docker://blockjoy/testing/main/0.0.1"
    assert image.protocol_key == "testing"
    assert image.org_id is None
    assert image.description == "Testing image"
    assert image.dns_scheme == "https"
    assert image.visibility is Visibility.DEVELOPMENT
    assert [variant.key for variant in image.variants] == ["client-testnet-full", "client-mainnet-archive"]
    assert image.folder == (tmp_path / "image").resolve()
    assert image.plugin == PluginSpec(PluginLoader.RHAI, "plugin")
    assert image.rootfs == Rootfs("folder", "rootfs")
    assert image.rootfs_source == image.folder / "rootfs"


def test_yaml_1_2_keeps_on_off_yes_as_strings(image):
    switch = image.properties[1]
    assert switch.default_value == "off"
    assert switch.ui_type == UiType(
        "!switch", SwitchImpacts(on=Impact(add_cpu=1, add_memory_mb=1000), off=None)
    )
    assert image.variants[1].properties[0].default_value == "yes"


def test_yaml_1_2_reads_on_as_a_plain_value_too(tmp_path):
    text = edited("default_value: default-value", "default_value: on")
    assert load_image(make_image(tmp_path / "image", text)).properties[0].default_value == "on"


def test_anchors_aliases_and_merge_keys(image):
    options = image.properties[2].ui_type.data
    assert options[0].impact == Impact(add_cpu=1, add_memory_mb=1000)
    assert options[1].impact == Impact(new_archive=True, add_cpu=1, add_memory_mb=1000)
    mainnet_firewall = image.variants[1].firewall_config
    assert mainnet_firewall.default_in is FirewallAction.ALLOW
    assert mainnet_firewall.rules == image.firewall_config.rules


def test_every_tag(image):
    text, switch, enum, password = (prop.ui_type for prop in image.properties)
    assert text == UiType("!text", Impact())
    assert switch.kind == "!switch"
    assert enum == UiType(
        "!enum",
        [
            EnumOption("variant-a", "Variant A", Impact(add_cpu=1, add_memory_mb=1000)),
            EnumOption("variant-b", "Variant B", Impact(new_archive=True, add_cpu=1, add_memory_mb=1000)),
        ],
    )
    assert password == UiType("!password", Impact(add_disk_gb=-2))
    assert image.variants[1].properties[0].ui_type == UiType("!text", Impact(new_archive=True))
    pointers = [archive.pointer for archive in image.variants[0].archive_pointers]
    assert pointers == [
        ArchivePointerTarget("!store_key", "testing-client-testnet-full-v1"),
        ArchivePointerTarget("!combination_disallowed"),
    ]
    assert image.variants[0].archive_pointers[0].new_archive_properties == ["enum-property"]


def test_a_bare_switch_has_no_impacts(tmp_path):
    text = edited(
        "ui_type: !switch\n      on: &cheap {add_cpu: 1, add_memory_mb: 1000}\n      off: null",
        "ui_type: !switch",
    )
    text = text.replace("impact: *cheap", "impact: null").replace("<<: *cheap\n", "")
    assert load_image(make_image(tmp_path / "image", text)).properties[1].ui_type == UiType(
        "!switch", SwitchImpacts()
    )


def test_the_firewall_is_read(image):
    (rule,) = image.firewall_config.rules
    assert (rule.key, rule.protocol, rule.direction, rule.action) == (
        "example-rule",
        FirewallProtocol.BOTH,
        FirewallDirection.IN,
        FirewallAction.ALLOW,
    )
    assert [(ip.ip, ip.name) for ip in rule.ips] == [("1.2.3.4/30", "authorize only this ip")]
    assert [(port.port, port.name) for port in rule.ports] == [(12901, "protocol port")]
    assert image.firewall_config.default_in is FirewallAction.DENY


def test_the_optional_sections_have_defaults(tmp_path):
    image = load_image(make_image(tmp_path / "image", minimal()))
    assert image.container_uri is None
    assert image.firewall_config is None
    assert image.plugin == PluginSpec(loader=PluginLoader.RHAI, path="plugin", entry_point=None)
    assert image.rootfs == Rootfs("host", True)
    assert image.rootfs_source is None
    variant = image.variants[0]
    assert (variant.metadata, variant.archive_pointers, variant.ramdisks) == (None, [], [])


def test_a_python_plugin_section(tmp_path):
    text = edited("  loader: rhai\n  path: plugin", "  loader: python\n  entry_point: example-python")
    image = load_image(make_image(tmp_path / "image", text))
    assert image.plugin == PluginSpec(PluginLoader.PYTHON, entry_point="example-python")


def test_the_plugin_section_is_what_load_protocol_plugin_takes(image):
    plugin_dir = image.folder / "plugin"
    plugin_dir.mkdir()
    (plugin_dir / "main.rhai").write_text('fn name() { "from the image" }')
    plugin = load_protocol_plugin(image.plugin.to_json(), image.folder, engine=None)
    assert plugin.name() == "from the image"


def test_a_tarball_rootfs(tmp_path):
    image = load_image(
        make_image(tmp_path / "image", edited("  folder: rootfs", "  tarball: build/rootfs.tar"))
    )
    assert image.rootfs == Rootfs("tarball", "build/rootfs.tar")
    assert image.rootfs_source == image.folder / "build/rootfs.tar"


# --- errors with places --------------------------------------------------------------------------------


def test_a_folder_without_babel_yaml(tmp_path):
    with pytest.raises(ImageError, match=f"{tmp_path} is not a node image: it has no babel.yaml"):
        load_image(tmp_path)


def test_a_wrong_type_names_line_column_and_field(tmp_path):
    message = load_error(tmp_path, edited("    min_cpu: 4\n", '    min_cpu: "4"\n'))
    file = (tmp_path / "image/babel.yaml").resolve()
    line = BABEL_YAML.splitlines().index("    min_cpu: 4") + 1
    assert message == f'{file}:{line}:14: variants[1].min_cpu: expected an integer, got "4"'


def test_a_missing_field_points_at_the_map_that_lacks_it(tmp_path):
    message = load_error(tmp_path, edited("    sku_code: TST-MN-A\n", ""))
    line = BABEL_YAML.splitlines().index("  - key: client-mainnet-archive") + 1
    assert message.endswith(f"babel.yaml:{line}:5: variants[1].sku_code: missing required field")


def test_an_error_inside_a_tag_names_the_tag(tmp_path):
    message = load_error(tmp_path, edited("      - value: variant-b", "      - value: 7"))
    line = BABEL_YAML.splitlines().index("      - value: variant-b") + 1
    assert message.endswith(
        f"babel.yaml:{line}:16: properties[2].ui_type.!enum[1].value: expected a string, got 7"
    )


def test_an_error_behind_a_merge_key_points_at_the_merged_value(tmp_path):
    message = load_error(tmp_path, edited("  default_out: allow", "  default_out: maybe"))
    line = BABEL_YAML.splitlines().index("  default_out: allow") + 1
    assert f"babel.yaml:{line}:16: variants[1].firewall_config.default_out: expected one of" in message


def test_an_untagged_ui_type_asks_for_a_tag(tmp_path):
    message = load_error(tmp_path, edited("ui_type: !text\n", "ui_type: text\n"))
    assert "properties[0].ui_type: expected a map with one of !text, !password, !switch, !enum" in message


def test_true_is_a_boolean_not_a_string(tmp_path):
    message = load_error(tmp_path, edited("default_value: default-value", "default_value: true"))
    assert "properties[0].default_value: expected a string, got true" in message


@pytest.mark.parametrize(
    ("old", "new", "expected"),
    [
        (
            "ui_type: !text\n",
            "ui_type: !checkbox\n",
            "could not determine a constructor for the tag '!checkbox'",
        ),
        ("  - pointer: !combination_disallowed", "  - pointer: !combination_disallowed x", "takes no value"),
        ("version: 0.0.1", "version: [0.0.1", "expected ',' or ']'"),
        ("impact: *cheap", "impact: *nowhere", "found undefined alias 'nowhere'"),
        (
            "protocol_key: testing\n",
            "protocol_key: testing\nprotocol_key: again\n",
            'found duplicate key "protocol_key"',
        ),
    ],
)
def test_yaml_errors_name_line_and_column(tmp_path, old, new, expected):
    message = load_error(tmp_path, edited(old, new))
    assert message.startswith(f"{(tmp_path / 'image/babel.yaml').resolve()}:")
    line, column = message.split(":")[1:3]
    assert int(line) >= 1 and int(column) >= 1
    assert expected in message


def test_an_unknown_tag_names_its_line(tmp_path):
    message = load_error(tmp_path, edited("ui_type: !text\n", "ui_type: !checkbox\n"))
    line = BABEL_YAML.splitlines().index("    ui_type: !text") + 1
    assert f"babel.yaml:{line}:14: could not determine a constructor" in message


@pytest.mark.parametrize(
    ("old", "new", "field"),
    [
        ("  path: plugin", "  path: ../elsewhere", "plugin.path"),
        ("  folder: rootfs", "  folder: /etc", "rootfs.folder"),
        ("  folder: rootfs", "  tarball: ../../rootfs.tar", "rootfs.tarball"),
    ],
)
def test_paths_must_stay_inside_the_image_folder(tmp_path, old, new, field):
    message = load_error(tmp_path, edited(old, new))
    assert f": {field}: " in message and "leaves the image folder" in message


def test_a_host_rootfs_must_be_true(tmp_path):
    message = load_error(tmp_path, edited("  folder: rootfs", "  host: false"))
    assert message.endswith("rootfs: host: expected true (leave `host` out to use a folder or a tarball)")


def test_a_python_plugin_needs_an_entry_point(tmp_path):
    message = load_error(tmp_path, edited("  loader: rhai\n", "  loader: python\n"))
    assert "plugin: entry_point: the python loader needs the name of an installed entry point" in message


def test_an_empty_babel_yaml(tmp_path):
    message = load_error(tmp_path, "")
    assert message == f"{(tmp_path / 'image/babel.yaml').resolve()}: expected a map, got null"


def test_an_unreadable_babel_yaml(tmp_path):
    folder = make_image(tmp_path / "image")
    (folder / "babel.yaml").write_bytes(b"version: \xff\n")
    with pytest.raises(ImageError, match=r"babel\.yaml: 'utf-8' codec can't decode"):
        load_image(folder)
    (folder / "babel.yaml").write_text("version: \x07\n")
    with pytest.raises(ImageError, match="unacceptable character #x0007"):
        load_image(folder)


def test_a_document_that_is_not_a_map(tmp_path):
    assert load_error(tmp_path, "- a\n- b\n").endswith(
        "babel.yaml:1:1: expected a map, got a list of 2 items"
    )


# --- variants ------------------------------------------------------------------------------------------


def test_a_variant_without_overrides_takes_the_image_values(image):
    variant = image.variant("client-testnet-full")
    assert variant.key == "client-testnet-full"
    assert (variant.sku_code, variant.min_cpu, variant.min_memory_mb, variant.min_disk_gb) == (
        "TST-TN-F",
        1,
        1000,
        2,
    )
    assert variant.ramdisks == [Ramdisk("/mnt/ramdisk", 100)]
    assert variant.description == "Testing image"
    assert variant.visibility is Visibility.DEVELOPMENT
    assert variant.dns_scheme == "https"
    assert variant.properties == image.properties
    assert variant.firewall_config == image.firewall_config
    assert variant.archive_pointers == image.variants[0].archive_pointers


def test_a_variant_overrides_the_image_values(image):
    variant = image.variant("client-mainnet-archive")
    assert variant.description == "Mainnet archive"
    assert variant.visibility is Visibility.PUBLIC
    assert variant.dns_scheme == "http"
    assert [prop.key for prop in variant.properties] == ["only-mainnet"]
    assert variant.firewall_config.default_in is FirewallAction.ALLOW


def test_metadata_is_completed_from_the_variant_key(image):
    assert image.variant("client-mainnet-archive").metadata == [
        MetadataEntry("node-type", "archive"),
        MetadataEntry("network", "mainnet"),
        MetadataEntry("client", "client"),
    ]
    assert image.variant("client-testnet-full").metadata == [
        MetadataEntry("client", "custom-client", "overrides the default"),
        MetadataEntry("node-type", "full"),
        MetadataEntry("network", "testnet"),
    ]


@pytest.mark.parametrize(
    ("key", "expected"),
    [
        ("main", [("node-type", "main")]),
        ("sepolia-full", [("node-type", "full"), ("network", "sepolia")]),
        ("op-reth-base-archive", [("node-type", "archive"), ("network", "base"), ("client", "op-reth")]),
    ],
)
def test_metadata_from_keys_of_any_length(tmp_path, key, expected):
    image = load_image(make_image(tmp_path / "image", minimal(variants=(key,))))
    assert [(entry.key, entry.value) for entry in image.variant(key).metadata] == expected


def test_the_only_variant_is_chosen_without_a_key(tmp_path):
    image = load_image(make_image(tmp_path / "image", minimal()))
    assert image.variant(None).key == "main"
    assert image.variant().key == "main"


def test_variant_selection_errors(tmp_path, image):
    with pytest.raises(ImageError, match=r"^variant 'nope' not found \(the image has: client-testnet-full, "):
        image.variant("nope")
    with pytest.raises(ImageError, match=r"^multiple variants found, please choose one"):
        image.variant()
    empty = load_image(make_image(tmp_path / "empty", minimal(variants=())))
    with pytest.raises(ImageError, match=r"^no image variant defined$"):
        empty.variant()


# --- node params ---------------------------------------------------------------------------------------


def test_params_are_the_defaults_overridden_by_props(image):
    variant = image.variant("client-testnet-full")
    assert node_params(variant, {}) == {
        "arbitrary-text-property": "default-value",
        "switch-property": "off",
        "enum-property": "variant-a",
        "secret-property": "",
    }
    params = node_params(
        variant, {"switch-property": "on", "enum-property": "variant-b", "secret-property": "s"}
    )
    assert params == {
        "arbitrary-text-property": "default-value",
        "switch-property": "on",
        "enum-property": "variant-b",
        "secret-property": "s",
    }


def test_params_follow_the_variant_properties(image):
    assert node_params(image.variant("client-mainnet-archive"), {}) == {"only-mainnet": "yes"}


def test_an_unknown_param_is_named_with_the_known_ones(image):
    with pytest.raises(ParamsError) as error:
        node_params(image.variant("client-mainnet-archive"), {"network": "x"})
    assert str(error.value) == "unknown property 'network' (the image defines: only-mainnet)"


@pytest.mark.parametrize(
    ("props", "expected"),
    [
        (
            {"switch-property": "true"},
            "property 'switch-property': 'true' is not allowed; expected one of: on, off",
        ),
        (
            {"enum-property": "variant-c"},
            "property 'enum-property': 'variant-c' is not allowed; expected one of: variant-a, variant-b",
        ),
        ({"arbitrary-text-property": 5}, "property 'arbitrary-text-property': expected a string, got 5"),
    ],
)
def test_an_invalid_param_is_named_with_the_allowed_values(image, props, expected):
    with pytest.raises(ParamsError) as error:
        node_params(image.variant("client-testnet-full"), props)
    assert str(error.value) == expected


def test_every_param_problem_is_reported_at_once(image):
    with pytest.raises(ParamsError) as error:
        node_params(image.variant("client-testnet-full"), {"a": "1", "switch-property": "x", "b": "2"})
    assert str(error.value).count(";") >= 2
    assert "'a'" in str(error.value) and "'switch-property'" in str(error.value) and "'b'" in str(error.value)


# --- validation ----------------------------------------------------------------------------------------


def test_a_valid_image_has_no_problems(image):
    assert validate_image(image) == []


def test_validation_reports_every_problem_with_its_place(tmp_path):
    text = BABEL_YAML
    for old, new in [
        ("version: 0.0.1", "version: v1.0"),
        ("container_uri: docker://blockjoy/testing/main/0.0.1", "container_uri: not a uri"),
        ("protocol_key: testing", "protocol_key: Testing"),
        ("sku_code: TST-TN-F", "sku_code: tst-tn"),
        ("  - key: client-mainnet-archive", "  - key: Client_Mainnet"),
        ("      - key: client\n", "      - key: Client\n"),
        ("!store_key testing-client-testnet-full-v1", "!store_key Store_Key"),
        ("  - key: switch-property", "  - key: arbitrary-text-property"),
        ("      - value: variant-b", "      - value: Variant-B"),
        ("default_value: variant-a", "default_value: variant-z"),
        ("default_value: off", "default_value: maybe"),
        ("    - key: example-rule", "    - key: Example Rule"),
        ("        - ip: 1.2.3.4/30", "        - ip: 1.2.3.400"),
        ("      - key: only-mainnet", "      - key: Only"),
        (
            "ui_type: !text {new_archive: true}\n",
            "ui_type: !text {new_archive: true}\n        variants: [Main]\n",
        ),
    ]:
        text = edited(old, new, text)
    image = load_image(make_image(tmp_path / "image", text))
    lines = text.splitlines()
    kebab = "isn't lower-kebab-case (a-z, 0-9 and '-')"
    rule = "firewall_config.rules[0]"
    # (the line's text, its occurrence, column, field, message); the variant's firewall merges the image's,
    # so its problems point at the anchored rule
    expected = [
        ("version: v1.0", 0, 10, "version", "version must be semantic (e.g. 1.2.3), got 'v1.0'"),
        (
            "container_uri: not a uri",
            0,
            16,
            "container_uri",
            "'not a uri' is not a URI (e.g. docker://org/image:1.0)",
        ),
        ("protocol_key: Testing", 0, 15, "protocol_key", f"'Testing' {kebab}"),
        (
            "  - key: arbitrary-text-property",
            1,
            10,
            "properties[1].key",
            "property key 'arbitrary-text-property' is used twice",
        ),
        (
            "    default_value: maybe",
            0,
            20,
            "properties[1].default_value",
            "'maybe' is not allowed; expected one of: on, off",
        ),
        ("      - value: Variant-B", 0, 16, "properties[2].ui_type.!enum[1].value", f"'Variant-B' {kebab}"),
        (
            "    default_value: variant-z",
            0,
            20,
            "properties[2].default_value",
            "'variant-z' is not allowed; expected one of: variant-a, Variant-B",
        ),
        ("    - key: Example Rule", 0, 12, f"{rule}.key", f"'Example Rule' {kebab}"),
        (
            "        - ip: 1.2.3.400",
            0,
            15,
            f"{rule}.ips[0].ip",
            "invalid ip (1.2.3.400) in rule 'Example Rule'",
        ),
        (
            "    sku_code: tst-tn",
            0,
            15,
            "variants[0].sku_code",
            "'tst-tn' is not a SKU code: three parts of A-Z and 0-9 joined by '-', e.g. ETH-ERG-SF",
        ),
        ("      - key: Client", 0, 14, "variants[0].metadata[0].key", f"'Client' {kebab}"),
        (
            "      - pointer: !store_key Store_Key",
            0,
            18,
            "variants[0].archive_pointers[0].pointer.!store_key",
            f"'Store_Key' {kebab}",
        ),
        ("  - key: Client_Mainnet", 0, 10, "variants[1].key", f"'Client_Mainnet' {kebab}"),
        ("      - key: Only", 0, 14, "variants[1].properties[0].key", f"'Only' {kebab}"),
        ("        variants: [Main]", 0, 20, "variants[1].properties[0].variants[0]", f"'Main' {kebab}"),
        ("    - key: Example Rule", 0, 12, f"variants[1].{rule}.key", f"'Example Rule' {kebab}"),
        (
            "        - ip: 1.2.3.400",
            0,
            15,
            f"variants[1].{rule}.ips[0].ip",
            "invalid ip (1.2.3.400) in rule 'Example Rule'",
        ),
    ]

    def line_of(line_text: str, occurrence: int) -> int:
        return [number for number, line in enumerate(lines, 1) if line == line_text][occurrence]

    file = image.folder / "babel.yaml"
    assert validate_image(image) == [
        f"{file}:{line_of(line_text, occurrence)}:{column}: {field}: {message}"
        for line_text, occurrence, column, field, message in expected
    ]


def test_duplicate_variant_keys_are_a_problem(tmp_path):
    image = load_image(make_image(tmp_path / "image", minimal(variants=("main", "main"))))
    assert [problem.split(": ", 1)[1] for problem in validate_image(image)] == [
        "variants[1].key: variant key 'main' is used twice"
    ]


@pytest.mark.parametrize("version", ["1.0.0", "0.0.1-alpha.1", "1.2.3-rc.1+build.5", "10.20.30+meta"])
def test_semantic_versions_are_valid(tmp_path, version):
    assert validate_image(load_image(make_image(tmp_path / "image", minimal(version=version)))) == []


@pytest.mark.parametrize("version", ["1.0", "v1.0.0", "01.0.0", "1.0.0-", "1.0.0.0"])
def test_other_versions_are_not(tmp_path, version):
    (problem,) = validate_image(load_image(make_image(tmp_path / "image", minimal(version=f'"{version}"'))))
    assert "version must be semantic" in problem


# --- finding images ------------------------------------------------------------------------------------


@pytest.fixture
def image_dirs(tmp_path):
    first, second = tmp_path / "first", tmp_path / "second"
    make_image(first / "eth-old", minimal("eth", ("reth-sepolia-full", "geth-main"), "1.2.0"))
    make_image(first / "eth-new", minimal("eth", ("reth-sepolia-full",), "1.10.0"))
    make_image(first / "eth-rc", minimal("eth", ("reth-sepolia-full",), "1.10.0-rc.1"))
    make_image(first / "near", minimal("near", ("main",), "0.1.0"))
    make_image(second, minimal("solo", ("main",), "3.0.0"))  # an image dir that is an image itself
    make_image(second / "eth-same", minimal("eth", ("reth-sepolia-full",), "1.10.0"))
    (first / "not-an-image").mkdir()
    (first / "a-file").write_text("")
    return [first, second, tmp_path / "missing"]


def test_find_by_path(tmp_path, image_dirs):
    folder = image_dirs[0] / "near"
    assert find_image(str(folder), []) == folder.resolve()


def test_find_by_relative_path(tmp_path, image_dirs, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert find_image("first/near", []) == (tmp_path / "first/near").resolve()


def test_find_by_reference_takes_the_latest_version(image_dirs):
    assert find_image("eth/reth-sepolia-full", image_dirs) == image_dirs[0] / "eth-new"
    assert find_image("eth/geth-main", image_dirs) == image_dirs[0] / "eth-old"


def test_find_by_reference_with_a_version(image_dirs):
    assert find_image("eth/reth-sepolia-full/1.2.0", image_dirs) == image_dirs[0] / "eth-old"
    assert find_image("eth/reth-sepolia-full/1.10.0-rc.1", image_dirs) == image_dirs[0] / "eth-rc"


def test_an_earlier_image_dir_wins_a_tie(image_dirs):
    assert find_image("eth/reth-sepolia-full/1.10.0", image_dirs[::-1]) == image_dirs[1] / "eth-same"


def test_an_image_dir_can_be_an_image(image_dirs):
    assert find_image("solo/main", image_dirs) == image_dirs[1]


def test_not_found_lists_what_is_available(image_dirs):
    with pytest.raises(ImageError) as error:
        find_image("eth/reth-sepolia-full/9.9.9", image_dirs)
    message = str(error.value)
    assert message.startswith(
        f"no node image 'eth/reth-sepolia-full/9.9.9' in {image_dirs[0]}, {image_dirs[1]}"
    )
    assert f"  eth/geth-main/1.2.0  {image_dirs[0] / 'eth-old'}" in message.splitlines()
    assert f"  solo/main/3.0.0  {image_dirs[1]}" in message.splitlines()
    assert "unreadable" not in message


def test_not_found_in_no_images(tmp_path):
    with pytest.raises(ImageError, match=r"no node image 'eth/main' in no image folder\navailable: none$"):
        find_image("eth/main", [])


def test_an_unreadable_image_is_reported_not_fatal(image_dirs):
    make_image(image_dirs[0] / "broken", "version: [")
    assert find_image("near/main", image_dirs) == image_dirs[0] / "near"
    with pytest.raises(ImageError, match=r"unreadable:\n  .*broken/babel.yaml:1:11: "):
        find_image("near/other", image_dirs)


@pytest.mark.parametrize("reference", ["eth", "a/b/c/d", "eth//1.0.0", "./missing", "~/missing/x"])
def test_a_reference_that_is_neither_path_nor_protocol_variant(reference, image_dirs):
    with pytest.raises(ImageError, match=r"expected a folder with babel\.yaml, or protocol/variant"):
        find_image(reference, image_dirs)
