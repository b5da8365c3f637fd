from google.protobuf.internal import containers as _containers
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional

DESCRIPTOR: _descriptor.FileDescriptor

class Empty(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class Version(_message.Message):
    __slots__ = ("version",)
    VERSION_FIELD_NUMBER: _ClassVar[int]
    version: str
    def __init__(self, version: _Optional[str] = ...) -> None: ...

class Duration(_message.Message):
    __slots__ = ("seconds",)
    SECONDS_FIELD_NUMBER: _ClassVar[int]
    seconds: float
    def __init__(self, seconds: _Optional[float] = ...) -> None: ...

class SetupBabelRequest(_message.Message):
    __slots__ = ("node_env_json",)
    NODE_ENV_JSON_FIELD_NUMBER: _ClassVar[int]
    node_env_json: str
    def __init__(self, node_env_json: _Optional[str] = ...) -> None: ...

class ShutdownBabelRequest(_message.Message):
    __slots__ = ("force",)
    FORCE_FIELD_NUMBER: _ClassVar[int]
    force: bool
    def __init__(self, force: _Optional[bool] = ...) -> None: ...

class JobName(_message.Message):
    __slots__ = ("name",)
    NAME_FIELD_NUMBER: _ClassVar[int]
    name: str
    def __init__(self, name: _Optional[str] = ...) -> None: ...

class CreateJobRequest(_message.Message):
    __slots__ = ("name", "config_json")
    NAME_FIELD_NUMBER: _ClassVar[int]
    CONFIG_JSON_FIELD_NUMBER: _ClassVar[int]
    name: str
    config_json: str
    def __init__(self, name: _Optional[str] = ..., config_json: _Optional[str] = ...) -> None: ...

class JobInfoReply(_message.Message):
    __slots__ = ("info_json",)
    INFO_JSON_FIELD_NUMBER: _ClassVar[int]
    info_json: str
    def __init__(self, info_json: _Optional[str] = ...) -> None: ...

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

class RunShRequest(_message.Message):
    __slots__ = ("body", "timeout_secs")
    BODY_FIELD_NUMBER: _ClassVar[int]
    TIMEOUT_SECS_FIELD_NUMBER: _ClassVar[int]
    body: str
    timeout_secs: float
    def __init__(self, body: _Optional[str] = ..., timeout_secs: _Optional[float] = ...) -> None: ...

class ShResponse(_message.Message):
    __slots__ = ("exit_code", "stdout", "stderr")
    EXIT_CODE_FIELD_NUMBER: _ClassVar[int]
    STDOUT_FIELD_NUMBER: _ClassVar[int]
    STDERR_FIELD_NUMBER: _ClassVar[int]
    exit_code: int
    stdout: str
    stderr: str
    def __init__(self, exit_code: _Optional[int] = ..., stdout: _Optional[str] = ..., stderr: _Optional[str] = ...) -> None: ...

class RunJrpcRequest(_message.Message):
    __slots__ = ("request_json", "timeout_secs")
    REQUEST_JSON_FIELD_NUMBER: _ClassVar[int]
    TIMEOUT_SECS_FIELD_NUMBER: _ClassVar[int]
    request_json: str
    timeout_secs: float
    def __init__(self, request_json: _Optional[str] = ..., timeout_secs: _Optional[float] = ...) -> None: ...

class RunRestRequest(_message.Message):
    __slots__ = ("request_json", "timeout_secs")
    REQUEST_JSON_FIELD_NUMBER: _ClassVar[int]
    TIMEOUT_SECS_FIELD_NUMBER: _ClassVar[int]
    request_json: str
    timeout_secs: float
    def __init__(self, request_json: _Optional[str] = ..., timeout_secs: _Optional[float] = ...) -> None: ...

class HttpResponse(_message.Message):
    __slots__ = ("status_code", "body")
    STATUS_CODE_FIELD_NUMBER: _ClassVar[int]
    BODY_FIELD_NUMBER: _ClassVar[int]
    status_code: int
    body: str
    def __init__(self, status_code: _Optional[int] = ..., body: _Optional[str] = ...) -> None: ...

class RenderTemplateRequest(_message.Message):
    __slots__ = ("template", "destination", "params_json")
    TEMPLATE_FIELD_NUMBER: _ClassVar[int]
    DESTINATION_FIELD_NUMBER: _ClassVar[int]
    PARAMS_JSON_FIELD_NUMBER: _ClassVar[int]
    template: str
    destination: str
    params_json: str
    def __init__(self, template: _Optional[str] = ..., destination: _Optional[str] = ..., params_json: _Optional[str] = ...) -> None: ...

class FilePath(_message.Message):
    __slots__ = ("path",)
    PATH_FIELD_NUMBER: _ClassVar[int]
    path: str
    def __init__(self, path: _Optional[str] = ...) -> None: ...

class FileChunk(_message.Message):
    __slots__ = ("path", "data")
    PATH_FIELD_NUMBER: _ClassVar[int]
    DATA_FIELD_NUMBER: _ClassVar[int]
    path: str
    data: bytes
    def __init__(self, path: _Optional[str] = ..., data: _Optional[bytes] = ...) -> None: ...

class ProtocolDataStampReply(_message.Message):
    __slots__ = ("present", "unix_time")
    PRESENT_FIELD_NUMBER: _ClassVar[int]
    UNIX_TIME_FIELD_NUMBER: _ClassVar[int]
    present: bool
    unix_time: float
    def __init__(self, present: _Optional[bool] = ..., unix_time: _Optional[float] = ...) -> None: ...
