//! Kubernetes protobuf decoding (work in progress).
