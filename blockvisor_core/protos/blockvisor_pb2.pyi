from google.protobuf.internal import containers as _containers
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class Empty(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class InfoReply(_message.Message):
    __slots__ = ("version", "root", "runtime", "status")
    VERSION_FIELD_NUMBER: _ClassVar[int]
    ROOT_FIELD_NUMBER: _ClassVar[int]
    RUNTIME_FIELD_NUMBER: _ClassVar[int]
    STATUS_FIELD_NUMBER: _ClassVar[int]
    version: str
    root: str
    runtime: str
    status: str
    def __init__(self, version: _Optional[str] = ..., root: _Optional[str] = ..., runtime: _Optional[str] = ..., status: _Optional[str] = ...) -> None: ...

class NodeRef(_message.Message):
    __slots__ = ("id_or_name",)
    ID_OR_NAME_FIELD_NUMBER: _ClassVar[int]
    id_or_name: str
    def __init__(self, id_or_name: _Optional[str] = ...) -> None: ...

class NodeJobRef(_message.Message):
    __slots__ = ("id_or_name", "job")
    ID_OR_NAME_FIELD_NUMBER: _ClassVar[int]
    JOB_FIELD_NUMBER: _ClassVar[int]
    id_or_name: str
    job: str
    def __init__(self, id_or_name: _Optional[str] = ..., job: _Optional[str] = ...) -> None: ...

class CreateNodeRequest(_message.Message):
    __slots__ = ("image", "properties", "name", "tags", "runtime")
    class PropertiesEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: str
        def __init__(self, key: _Optional[str] = ..., value: _Optional[str] = ...) -> None: ...
    IMAGE_FIELD_NUMBER: _ClassVar[int]
    PROPERTIES_FIELD_NUMBER: _ClassVar[int]
    NAME_FIELD_NUMBER: _ClassVar[int]
    TAGS_FIELD_NUMBER: _ClassVar[int]
    RUNTIME_FIELD_NUMBER: _ClassVar[int]
    image: str
    properties: _containers.ScalarMap[str, str]
    name: str
    tags: _containers.RepeatedScalarFieldContainer[str]
    runtime: str
    def __init__(self, image: _Optional[str] = ..., properties: _Optional[_Mapping[str, str]] = ..., name: _Optional[str] = ..., tags: _Optional[_Iterable[str]] = ..., runtime: _Optional[str] = ...) -> None: ...

class StopNodeRequest(_message.Message):
    __slots__ = ("id_or_name", "force")
    ID_OR_NAME_FIELD_NUMBER: _ClassVar[int]
    FORCE_FIELD_NUMBER: _ClassVar[int]
    id_or_name: str
    force: bool
    def __init__(self, id_or_name: _Optional[str] = ..., force: _Optional[bool] = ...) -> None: ...

class UpgradeNodeRequest(_message.Message):
    __slots__ = ("id_or_name", "image")
    ID_OR_NAME_FIELD_NUMBER: _ClassVar[int]
    IMAGE_FIELD_NUMBER: _ClassVar[int]
    id_or_name: str
    image: str
    def __init__(self, id_or_name: _Optional[str] = ..., image: _Optional[str] = ...) -> None: ...

class Node(_message.Message):
    __slots__ = ("id", "name", "protocol", "variant", "version", "status", "expected_status", "ip", "gateway", "started_at", "runtime", "properties", "tags", "image_path", "cpus", "memory_mb", "disk_gb")
    class PropertiesEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: str
        def __init__(self, key: _Optional[str] = ..., value: _Optional[str] = ...) -> None: ...
    ID_FIELD_NUMBER: _ClassVar[int]
    NAME_FIELD_NUMBER: _ClassVar[int]
    PROTOCOL_FIELD_NUMBER: _ClassVar[int]
    VARIANT_FIELD_NUMBER: _ClassVar[int]
    VERSION_FIELD_NUMBER: _ClassVar[int]
    STATUS_FIELD_NUMBER: _ClassVar[int]
    EXPECTED_STATUS_FIELD_NUMBER: _ClassVar[int]
    IP_FIELD_NUMBER: _ClassVar[int]
    GATEWAY_FIELD_NUMBER: _ClassVar[int]
    STARTED_AT_FIELD_NUMBER: _ClassVar[int]
    RUNTIME_FIELD_NUMBER: _ClassVar[int]
    PROPERTIES_FIELD_NUMBER: _ClassVar[int]
    TAGS_FIELD_NUMBER: _ClassVar[int]
    IMAGE_PATH_FIELD_NUMBER: _ClassVar[int]
    CPUS_FIELD_NUMBER: _ClassVar[int]
    MEMORY_MB_FIELD_NUMBER: _ClassVar[int]
    DISK_GB_FIELD_NUMBER: _ClassVar[int]
    id: str
    name: str
    protocol: str
    variant: str
    version: str
    status: str
    expected_status: str
    ip: str
    gateway: str
    started_at: float
    runtime: str
    properties: _containers.ScalarMap[str, str]
    tags: _containers.RepeatedScalarFieldContainer[str]
    image_path: str
    cpus: int
    memory_mb: int
    disk_gb: int
    def __init__(self, id: _Optional[str] = ..., name: _Optional[str] = ..., protocol: _Optional[str] = ..., variant: _Optional[str] = ..., version: _Optional[str] = ..., status: _Optional[str] = ..., expected_status: _Optional[str] = ..., ip: _Optional[str] = ..., gateway: _Optional[str] = ..., started_at: _Optional[float] = ..., runtime: _Optional[str] = ..., properties: _Optional[_Mapping[str, str]] = ..., tags: _Optional[_Iterable[str]] = ..., image_path: _Optional[str] = ..., cpus: _Optional[int] = ..., memory_mb: _Optional[int] = ..., disk_gb: _Optional[int] = ...) -> None: ...

class NodeList(_message.Message):
    __slots__ = ("nodes",)
    NODES_FIELD_NUMBER: _ClassVar[int]
    nodes: _containers.RepeatedCompositeFieldContainer[Node]
    def __init__(self, nodes: _Optional[_Iterable[_Union[Node, _Mapping]]] = ...) -> None: ...

class Capabilities(_message.Message):
    __slots__ = ("names",)
    NAMES_FIELD_NUMBER: _ClassVar[int]
    names: _containers.RepeatedScalarFieldContainer[str]
    def __init__(self, names: _Optional[_Iterable[str]] = ...) -> None: ...

class RunRequest(_message.Message):
    __slots__ = ("id_or_name", "method", "param")
    ID_OR_NAME_FIELD_NUMBER: _ClassVar[int]
    METHOD_FIELD_NUMBER: _ClassVar[int]
    PARAM_FIELD_NUMBER: _ClassVar[int]
    id_or_name: str
    method: str
    param: str
    def __init__(self, id_or_name: _Optional[str] = ..., method: _Optional[str] = ..., param: _Optional[str] = ...) -> None: ...

class RunReply(_message.Message):
    __slots__ = ("result",)
    RESULT_FIELD_NUMBER: _ClassVar[int]
    result: str
    def __init__(self, result: _Optional[str] = ...) -> None: ...

class NodeMetrics(_message.Message):
    __slots__ = ("height", "block_age", "consensus", "apr", "jailed", "jailed_reason", "protocol_state", "protocol_health")
    HEIGHT_FIELD_NUMBER: _ClassVar[int]
    BLOCK_AGE_FIELD_NUMBER: _ClassVar[int]
    CONSENSUS_FIELD_NUMBER: _ClassVar[int]
    APR_FIELD_NUMBER: _ClassVar[int]
    JAILED_FIELD_NUMBER: _ClassVar[int]
    JAILED_REASON_FIELD_NUMBER: _ClassVar[int]
    PROTOCOL_STATE_FIELD_NUMBER: _ClassVar[int]
    PROTOCOL_HEALTH_FIELD_NUMBER: _ClassVar[int]
    height: int
    block_age: int
    consensus: bool
    apr: float
    jailed: bool
    jailed_reason: str
    protocol_state: str
    protocol_health: str
    def __init__(self, height: _Optional[int] = ..., block_age: _Optional[int] = ..., consensus: _Optional[bool] = ..., apr: _Optional[float] = ..., jailed: _Optional[bool] = ..., jailed_reason: _Optional[str] = ..., protocol_state: _Optional[str] = ..., protocol_health: _Optional[str] = ...) -> None: ...

class HostMetrics(_message.Message):
    __slots__ = ("used_cpu_percent", "used_memory_bytes", "total_memory_bytes", "used_disk_bytes", "total_disk_bytes", "load_1", "load_5", "load_15", "network_received_bytes", "network_sent_bytes", "uptime_secs", "used_ips")
    USED_CPU_PERCENT_FIELD_NUMBER: _ClassVar[int]
    USED_MEMORY_BYTES_FIELD_NUMBER: _ClassVar[int]
    TOTAL_MEMORY_BYTES_FIELD_NUMBER: _ClassVar[int]
    USED_DISK_BYTES_FIELD_NUMBER: _ClassVar[int]
    TOTAL_DISK_BYTES_FIELD_NUMBER: _ClassVar[int]
    LOAD_1_FIELD_NUMBER: _ClassVar[int]
    LOAD_5_FIELD_NUMBER: _ClassVar[int]
    LOAD_15_FIELD_NUMBER: _ClassVar[int]
    NETWORK_RECEIVED_BYTES_FIELD_NUMBER: _ClassVar[int]
    NETWORK_SENT_BYTES_FIELD_NUMBER: _ClassVar[int]
    UPTIME_SECS_FIELD_NUMBER: _ClassVar[int]
    USED_IPS_FIELD_NUMBER: _ClassVar[int]
    used_cpu_percent: float
    used_memory_bytes: int
    total_memory_bytes: int
    used_disk_bytes: int
    total_disk_bytes: int
    load_1: float
    load_5: float
    load_15: float
    network_received_bytes: int
    network_sent_bytes: int
    uptime_secs: float
    used_ips: _containers.RepeatedScalarFieldContainer[str]
    def __init__(self, used_cpu_percent: _Optional[float] = ..., used_memory_bytes: _Optional[int] = ..., total_memory_bytes: _Optional[int] = ..., used_disk_bytes: _Optional[int] = ..., total_disk_bytes: _Optional[int] = ..., load_1: _Optional[float] = ..., load_5: _Optional[float] = ..., load_15: _Optional[float] = ..., network_received_bytes: _Optional[int] = ..., network_sent_bytes: _Optional[int] = ..., uptime_secs: _Optional[float] = ..., used_ips: _Optional[_Iterable[str]] = ...) -> None: ...

class JobsReply(_message.Message):
    __slots__ = ("info_json",)
    class InfoJsonEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: str
        def __init__(self, key: _Optional[str] = ..., value: _Optional[str] = ...) -> None: ...
    INFO_JSON_FIELD_NUMBER: _ClassVar[int]
    info_json: _containers.ScalarMap[str, str]
    def __init__(self, info_json: _Optional[_Mapping[str, str]] = ...) -> None: ...

class JobInfoReply(_message.Message):
    __slots__ = ("info_json",)
    INFO_JSON_FIELD_NUMBER: _ClassVar[int]
    info_json: str
    def __init__(self, info_json: _Optional[str] = ...) -> None: ...
