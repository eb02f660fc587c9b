from google.protobuf.internal import containers as _containers
from google.protobuf.internal import enum_type_wrapper as _enum_type_wrapper
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class JobState(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    JOB_STATE_UNSPECIFIED: _ClassVar[JobState]
    JOB_STATE_QUEUED: _ClassVar[JobState]
    JOB_STATE_RUNNING: _ClassVar[JobState]
    JOB_STATE_COMPLETED: _ClassVar[JobState]
    JOB_STATE_FAILED: _ClassVar[JobState]
    JOB_STATE_CANCELLED: _ClassVar[JobState]

class CancelOutcome(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    CANCEL_OUTCOME_UNSPECIFIED: _ClassVar[CancelOutcome]
    CANCEL_OUTCOME_CANCELLED: _ClassVar[CancelOutcome]
    CANCEL_OUTCOME_ALREADY_RUNNING: _ClassVar[CancelOutcome]
    CANCEL_OUTCOME_ALREADY_FINISHED: _ClassVar[CancelOutcome]
    CANCEL_OUTCOME_NOT_FOUND: _ClassVar[CancelOutcome]
JOB_STATE_UNSPECIFIED: JobState
JOB_STATE_QUEUED: JobState
JOB_STATE_RUNNING: JobState
JOB_STATE_COMPLETED: JobState
JOB_STATE_FAILED: JobState
JOB_STATE_CANCELLED: JobState
CANCEL_OUTCOME_UNSPECIFIED: CancelOutcome
CANCEL_OUTCOME_CANCELLED: CancelOutcome
CANCEL_OUTCOME_ALREADY_RUNNING: CancelOutcome
CANCEL_OUTCOME_ALREADY_FINISHED: CancelOutcome
CANCEL_OUTCOME_NOT_FOUND: CancelOutcome

class ReadoutSource(_message.Message):
    __slots__ = ("buffer", "register", "bit")
    BUFFER_FIELD_NUMBER: _ClassVar[int]
    REGISTER_FIELD_NUMBER: _ClassVar[int]
    BIT_FIELD_NUMBER: _ClassVar[int]
    buffer: str
    register: str
    bit: int
    def __init__(self, buffer: _Optional[str] = ..., register: _Optional[str] = ..., bit: _Optional[int] = ...) -> None: ...

class Executable(_message.Message):
    __slots__ = ("quantum_processor_id", "circuit_json", "num_shots", "ro_sources", "iq_readout", "calibration_id")
    QUANTUM_PROCESSOR_ID_FIELD_NUMBER: _ClassVar[int]
    CIRCUIT_JSON_FIELD_NUMBER: _ClassVar[int]
    NUM_SHOTS_FIELD_NUMBER: _ClassVar[int]
    RO_SOURCES_FIELD_NUMBER: _ClassVar[int]
    IQ_READOUT_FIELD_NUMBER: _ClassVar[int]
    CALIBRATION_ID_FIELD_NUMBER: _ClassVar[int]
    quantum_processor_id: str
    circuit_json: bytes
    num_shots: int
    ro_sources: _containers.RepeatedCompositeFieldContainer[ReadoutSource]
    iq_readout: bool
    calibration_id: str
    def __init__(self, quantum_processor_id: _Optional[str] = ..., circuit_json: _Optional[bytes] = ..., num_shots: _Optional[int] = ..., ro_sources: _Optional[_Iterable[_Union[ReadoutSource, _Mapping]]] = ..., iq_readout: _Optional[bool] = ..., calibration_id: _Optional[str] = ...) -> None: ...

class PatchRegion(_message.Message):
    __slots__ = ("values",)
    VALUES_FIELD_NUMBER: _ClassVar[int]
    values: _containers.RepeatedScalarFieldContainer[float]
    def __init__(self, values: _Optional[_Iterable[float]] = ...) -> None: ...

class PatchValues(_message.Message):
    __slots__ = ("regions",)
    class RegionsEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: PatchRegion
        def __init__(self, key: _Optional[str] = ..., value: _Optional[_Union[PatchRegion, _Mapping]] = ...) -> None: ...
    REGIONS_FIELD_NUMBER: _ClassVar[int]
    regions: _containers.MessageMap[str, PatchRegion]
    def __init__(self, regions: _Optional[_Mapping[str, PatchRegion]] = ...) -> None: ...

class ExecuteRequest(_message.Message):
    __slots__ = ("executable", "patch_values", "idempotency_key", "bypass_settings_protection", "priority", "seed")
    EXECUTABLE_FIELD_NUMBER: _ClassVar[int]
    PATCH_VALUES_FIELD_NUMBER: _ClassVar[int]
    IDEMPOTENCY_KEY_FIELD_NUMBER: _ClassVar[int]
    BYPASS_SETTINGS_PROTECTION_FIELD_NUMBER: _ClassVar[int]
    PRIORITY_FIELD_NUMBER: _ClassVar[int]
    SEED_FIELD_NUMBER: _ClassVar[int]
    executable: Executable
    patch_values: _containers.RepeatedCompositeFieldContainer[PatchValues]
    idempotency_key: str
    bypass_settings_protection: bool
    priority: int
    seed: int
    def __init__(self, executable: _Optional[_Union[Executable, _Mapping]] = ..., patch_values: _Optional[_Iterable[_Union[PatchValues, _Mapping]]] = ..., idempotency_key: _Optional[str] = ..., bypass_settings_protection: _Optional[bool] = ..., priority: _Optional[int] = ..., seed: _Optional[int] = ...) -> None: ...

class ExecuteResponse(_message.Message):
    __slots__ = ("job_ids", "replayed")
    JOB_IDS_FIELD_NUMBER: _ClassVar[int]
    REPLAYED_FIELD_NUMBER: _ClassVar[int]
    job_ids: _containers.RepeatedScalarFieldContainer[str]
    replayed: bool
    def __init__(self, job_ids: _Optional[_Iterable[str]] = ..., replayed: _Optional[bool] = ...) -> None: ...

class JobStatus(_message.Message):
    __slots__ = ("job_id", "state", "quantum_processor_id", "estimated_delay_seconds", "queue_position", "message", "execution_count")
    JOB_ID_FIELD_NUMBER: _ClassVar[int]
    STATE_FIELD_NUMBER: _ClassVar[int]
    QUANTUM_PROCESSOR_ID_FIELD_NUMBER: _ClassVar[int]
    ESTIMATED_DELAY_SECONDS_FIELD_NUMBER: _ClassVar[int]
    QUEUE_POSITION_FIELD_NUMBER: _ClassVar[int]
    MESSAGE_FIELD_NUMBER: _ClassVar[int]
    EXECUTION_COUNT_FIELD_NUMBER: _ClassVar[int]
    job_id: str
    state: JobState
    quantum_processor_id: str
    estimated_delay_seconds: float
    queue_position: int
    message: str
    execution_count: int
    def __init__(self, job_id: _Optional[str] = ..., state: _Optional[_Union[JobState, str]] = ..., quantum_processor_id: _Optional[str] = ..., estimated_delay_seconds: _Optional[float] = ..., queue_position: _Optional[int] = ..., message: _Optional[str] = ..., execution_count: _Optional[int] = ...) -> None: ...

class GetStatusRequest(_message.Message):
    __slots__ = ("job_ids",)
    JOB_IDS_FIELD_NUMBER: _ClassVar[int]
    job_ids: _containers.RepeatedScalarFieldContainer[str]
    def __init__(self, job_ids: _Optional[_Iterable[str]] = ...) -> None: ...

class GetStatusResponse(_message.Message):
    __slots__ = ("statuses",)
    STATUSES_FIELD_NUMBER: _ClassVar[int]
    statuses: _containers.RepeatedCompositeFieldContainer[JobStatus]
    def __init__(self, statuses: _Optional[_Iterable[_Union[JobStatus, _Mapping]]] = ...) -> None: ...

class JobResult(_message.Message):
    __slots__ = ("job_id", "shots", "integer_buffers", "integer_data", "complex_buffers", "complex_data", "memory", "execution_duration_microseconds")
    class MemoryEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: PatchRegion
        def __init__(self, key: _Optional[str] = ..., value: _Optional[_Union[PatchRegion, _Mapping]] = ...) -> None: ...
    JOB_ID_FIELD_NUMBER: _ClassVar[int]
    SHOTS_FIELD_NUMBER: _ClassVar[int]
    INTEGER_BUFFERS_FIELD_NUMBER: _ClassVar[int]
    INTEGER_DATA_FIELD_NUMBER: _ClassVar[int]
    COMPLEX_BUFFERS_FIELD_NUMBER: _ClassVar[int]
    COMPLEX_DATA_FIELD_NUMBER: _ClassVar[int]
    MEMORY_FIELD_NUMBER: _ClassVar[int]
    EXECUTION_DURATION_MICROSECONDS_FIELD_NUMBER: _ClassVar[int]
    job_id: str
    shots: int
    integer_buffers: _containers.RepeatedScalarFieldContainer[str]
    integer_data: bytes
    complex_buffers: _containers.RepeatedScalarFieldContainer[str]
    complex_data: bytes
    memory: _containers.MessageMap[str, PatchRegion]
    execution_duration_microseconds: int
    def __init__(self, job_id: _Optional[str] = ..., shots: _Optional[int] = ..., integer_buffers: _Optional[_Iterable[str]] = ..., integer_data: _Optional[bytes] = ..., complex_buffers: _Optional[_Iterable[str]] = ..., complex_data: _Optional[bytes] = ..., memory: _Optional[_Mapping[str, PatchRegion]] = ..., execution_duration_microseconds: _Optional[int] = ...) -> None: ...

class AwaitResultsRequest(_message.Message):
    __slots__ = ("job_ids", "timeout_seconds")
    JOB_IDS_FIELD_NUMBER: _ClassVar[int]
    TIMEOUT_SECONDS_FIELD_NUMBER: _ClassVar[int]
    job_ids: _containers.RepeatedScalarFieldContainer[str]
    timeout_seconds: float
    def __init__(self, job_ids: _Optional[_Iterable[str]] = ..., timeout_seconds: _Optional[float] = ...) -> None: ...

class AwaitResultsResponse(_message.Message):
    __slots__ = ("statuses", "results")
    STATUSES_FIELD_NUMBER: _ClassVar[int]
    RESULTS_FIELD_NUMBER: _ClassVar[int]
    statuses: _containers.RepeatedCompositeFieldContainer[JobStatus]
    results: _containers.RepeatedCompositeFieldContainer[JobResult]
    def __init__(self, statuses: _Optional[_Iterable[_Union[JobStatus, _Mapping]]] = ..., results: _Optional[_Iterable[_Union[JobResult, _Mapping]]] = ...) -> None: ...

class CancelRequest(_message.Message):
    __slots__ = ("job_ids",)
    JOB_IDS_FIELD_NUMBER: _ClassVar[int]
    job_ids: _containers.RepeatedScalarFieldContainer[str]
    def __init__(self, job_ids: _Optional[_Iterable[str]] = ...) -> None: ...

class CancelResult(_message.Message):
    __slots__ = ("job_id", "outcome", "message")
    JOB_ID_FIELD_NUMBER: _ClassVar[int]
    OUTCOME_FIELD_NUMBER: _ClassVar[int]
    MESSAGE_FIELD_NUMBER: _ClassVar[int]
    job_id: str
    outcome: CancelOutcome
    message: str
    def __init__(self, job_id: _Optional[str] = ..., outcome: _Optional[_Union[CancelOutcome, str]] = ..., message: _Optional[str] = ...) -> None: ...

class CancelResponse(_message.Message):
    __slots__ = ("results",)
    RESULTS_FIELD_NUMBER: _ClassVar[int]
    results: _containers.RepeatedCompositeFieldContainer[CancelResult]
    def __init__(self, results: _Optional[_Iterable[_Union[CancelResult, _Mapping]]] = ...) -> None: ...

class GetControllerInfoRequest(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class DeviceSummary(_message.Message):
    __slots__ = ("quantum_processor_id", "calibration_id", "queue_depth", "estimated_delay_seconds", "programs_executed")
    QUANTUM_PROCESSOR_ID_FIELD_NUMBER: _ClassVar[int]
    CALIBRATION_ID_FIELD_NUMBER: _ClassVar[int]
    QUEUE_DEPTH_FIELD_NUMBER: _ClassVar[int]
    ESTIMATED_DELAY_SECONDS_FIELD_NUMBER: _ClassVar[int]
    PROGRAMS_EXECUTED_FIELD_NUMBER: _ClassVar[int]
    quantum_processor_id: str
    calibration_id: str
    queue_depth: int
    estimated_delay_seconds: float
    programs_executed: int
    def __init__(self, quantum_processor_id: _Optional[str] = ..., calibration_id: _Optional[str] = ..., queue_depth: _Optional[int] = ..., estimated_delay_seconds: _Optional[float] = ..., programs_executed: _Optional[int] = ...) -> None: ...

class ControllerInfo(_message.Message):
    __slots__ = ("controller_id", "version", "devices", "programs_executed", "jobs_completed")
    CONTROLLER_ID_FIELD_NUMBER: _ClassVar[int]
    VERSION_FIELD_NUMBER: _ClassVar[int]
    DEVICES_FIELD_NUMBER: _ClassVar[int]
    PROGRAMS_EXECUTED_FIELD_NUMBER: _ClassVar[int]
    JOBS_COMPLETED_FIELD_NUMBER: _ClassVar[int]
    controller_id: str
    version: str
    devices: _containers.RepeatedCompositeFieldContainer[DeviceSummary]
    programs_executed: int
    jobs_completed: int
    def __init__(self, controller_id: _Optional[str] = ..., version: _Optional[str] = ..., devices: _Optional[_Iterable[_Union[DeviceSummary, _Mapping]]] = ..., programs_executed: _Optional[int] = ..., jobs_completed: _Optional[int] = ...) -> None: ...

class GetDeviceInfoRequest(_message.Message):
    __slots__ = ("quantum_processor_id",)
    QUANTUM_PROCESSOR_ID_FIELD_NUMBER: _ClassVar[int]
    quantum_processor_id: str
    def __init__(self, quantum_processor_id: _Optional[str] = ...) -> None: ...

class DeviceInfo(_message.Message):
    __slots__ = ("summary", "target_info_json")
    SUMMARY_FIELD_NUMBER: _ClassVar[int]
    TARGET_INFO_JSON_FIELD_NUMBER: _ClassVar[int]
    summary: DeviceSummary
    target_info_json: bytes
    def __init__(self, summary: _Optional[_Union[DeviceSummary, _Mapping]] = ..., target_info_json: _Optional[bytes] = ...) -> None: ...
