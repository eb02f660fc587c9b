"""payload.v1: the wire format the whole of qrelay speaks.

This package imports pydantic, numpy and the standard library only (a test checks it).
Every model is frozen and refuses unknown fields; golden JSON files under
``tests/golden/payload`` pin the wire, and ``docs/schema/`` holds the exported JSON Schema.
"""

from qrelay.payload._base import PAYLOAD_VERSION, WireModel
from qrelay.payload.circuit import (
    Bindings,
    Circuit,
    Condition,
    Instruction,
    KeyLayout,
    Register,
    matrix_from_wire,
    matrix_to_wire,
)
from qrelay.payload.expressions import Expr, ExprNode, evaluate
from qrelay.payload.jobs import (
    TERMINAL_CIRCUIT_STATES,
    UNSUCCESSFUL_CIRCUIT_STATES,
    CircuitStatus,
    CircuitType,
    JobCancellationResults,
    JobData,
    JobPage,
    JobQuery,
    JobResults,
    JobType,
    NewJob,
    NewJobResponse,
    SimMethod,
)
from qrelay.payload.limits import check_target_limits
from qrelay.payload.ops import OPS, OpKind, OpSpec, op_spec
from qrelay.payload.parsing import parse, payload_error, validate_json
from qrelay.payload.readout import Readout, RegisterReadout, decode_readouts, encode_readouts
from qrelay.payload.status import is_settled, job_status
from qrelay.payload.targets import (
    GateProperties,
    GetTargetsFilterModel,
    QubitProperties,
    RetrieveTargetInfoModel,
    TargetCapabilities,
    TargetInfo,
    TargetLimits,
    TargetModel,
    TargetStatus,
)
from qrelay.payload.users import (
    MAX_PRIORITY,
    BalanceResponse,
    NewUser,
    Role,
    UpdateUserDetails,
    UserInfo,
    UserQuery,
    UserTokenResponse,
)
from qrelay.payload.workers import (
    ExternalProviderCredentials,
    HeartbeatResponse,
    NewWorker,
    WorkerTask,
    WorkerTaskResults,
    WorkerTaskStatus,
    WorkerTokenResponse,
)

__all__ = [
    "MAX_PRIORITY",
    "OPS",
    "PAYLOAD_VERSION",
    "TERMINAL_CIRCUIT_STATES",
    "UNSUCCESSFUL_CIRCUIT_STATES",
    "BalanceResponse",
    "Bindings",
    "Circuit",
    "CircuitStatus",
    "CircuitType",
    "Condition",
    "Expr",
    "ExprNode",
    "ExternalProviderCredentials",
    "GateProperties",
    "GetTargetsFilterModel",
    "HeartbeatResponse",
    "Instruction",
    "JobCancellationResults",
    "JobData",
    "JobPage",
    "JobQuery",
    "JobResults",
    "JobType",
    "KeyLayout",
    "NewJob",
    "NewJobResponse",
    "NewUser",
    "NewWorker",
    "OpKind",
    "OpSpec",
    "QubitProperties",
    "Readout",
    "Register",
    "RegisterReadout",
    "RetrieveTargetInfoModel",
    "Role",
    "SimMethod",
    "TargetCapabilities",
    "TargetInfo",
    "TargetLimits",
    "TargetModel",
    "TargetStatus",
    "UpdateUserDetails",
    "UserInfo",
    "UserQuery",
    "UserTokenResponse",
    "WireModel",
    "WorkerTask",
    "WorkerTaskResults",
    "WorkerTaskStatus",
    "WorkerTokenResponse",
    "check_target_limits",
    "is_settled",
    "job_status",
    "decode_readouts",
    "encode_readouts",
    "evaluate",
    "matrix_from_wire",
    "matrix_to_wire",
    "op_spec",
    "parse",
    "payload_error",
    "validate_json",
]
