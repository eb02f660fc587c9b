"""Generated gRPC code of qrelay/qpu/protos/controller.proto. Do not edit."""
