"""Project an ONNX controller's latency on hardware we have not run it on.

Device model (roofline per node + fixed costs), documented so every projected figure can carry it:
  t_node  = max(FLOPs / (peak × compute_efficiency), bytes / (bandwidth × bandwidth_efficiency))
            + per-node overhead (GPU: kernel launch + ORT dispatch; CPU: ORT dispatch)
  t_run   = Σ t_node + per-run overhead + (GPU only) PCIe: 2 × latency + (input + output bytes) / PCIe bandwidth
FLOPs: Gemm/MatMul 2·M·K·N, Conv 2·N·Cout·Hout·Wout·(Cin/groups)·kH·kW, other ops one per output element
(transcendentals four). Bytes: every input and output tensor, once. INT8: the CUDA provider runs a QDQ
model as dequantize → FP32 kernels (no INT8 tensor cores without TensorRT), so GPU INT8 is projected
as FP32 plus the Q/DQ nodes; on CPU, INT8 MatMul/Gemm/Conv use the int8 peak.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from harness.latency.targets import HardwareTarget

TRANSCENDENTAL = {"Sigmoid", "Tanh", "Exp", "Log", "Softmax", "Erf", "Gelu", "Pow", "Sqrt"}
DTYPE_BYTES = {1: 4, 2: 1, 3: 1, 6: 4, 7: 8, 10: 2, 11: 8, 16: 2}  # ONNX TensorProto element types


@dataclass(frozen=True)
class NodeCost:
    op: str
    flops: float
    bytes: float
    int8: bool


@dataclass(frozen=True)
class Projection:
    latency_ms: float
    nodes: int
    flops: float
    bytes: float
    assumptions: dict


QDQ = ("QuantizeLinear", "DequantizeLinear")


def node_costs(model_path: str | Path, batch: int = 1, *, qdq_fused: bool = False) -> tuple[list[NodeCost], float]:
    """Per-node FLOPs and bytes at this batch size, and the bytes of the graph inputs + outputs.

    `qdq_fused`: cost a QDQ graph the way ONNX Runtime's CPU provider runs it — Q/DQ pairs folded
    into integer kernels. Q/DQ nodes then cost nothing and count as no node; a node reading a
    dequantized tensor reads the int8 tensor (1 byte per element) and runs on the INT8 peak; an
    output that only feeds QuantizeLinear is written as int8. Without it (the CUDA provider, no
    TensorRT) every Q/DQ node runs and the kernels between them are FP32.
    """
    import onnx
    from onnx import shape_inference

    model = onnx.load(str(model_path))
    for value in list(model.graph.input) + list(model.graph.output):
        dims = value.type.tensor_type.shape.dim
        if dims and not dims[0].HasField("dim_value"):
            dims[0].ClearField("dim_param")
            dims[0].dim_value = batch
    model = shape_inference.infer_shapes(model, strict_mode=False, data_prop=True)
    info: dict[str, tuple[tuple[int, ...], int]] = {}
    for v in list(model.graph.value_info) + list(model.graph.input) + list(model.graph.output):
        t = v.type.tensor_type
        shape = tuple(d.dim_value if d.HasField("dim_value") else 1 for d in t.shape.dim)
        info[v.name] = (shape, t.elem_type)
    for init in model.graph.initializer:
        info[init.name] = (tuple(init.dims), init.data_type)
    producer = {out: node for node in model.graph.node for out in node.output}
    consumers: dict[str, list[str]] = {}
    for node in model.graph.node:
        for n in node.input:
            consumers.setdefault(n, []).append(node.op_type)

    def size(name: str) -> tuple[int, int]:
        shape, dtype = info.get(name, ((), 1))
        return int(np.prod(shape)) if shape else 1, DTYPE_BYTES.get(dtype, 4)

    def stored(name: str, output: bool = False) -> tuple[int, int]:
        """Elements and bytes per element as the tensor exists in memory (QDQ folded when asked)."""
        count, width = size(name)
        if qdq_fused and not output and name in producer and producer[name].op_type == "DequantizeLinear":
            return count, size(producer[name].input[0])[1]
        if qdq_fused and output and consumers.get(name) and all(c == "QuantizeLinear" for c in consumers[name]):
            return count, 1
        return count, width

    costs = []
    for node in model.graph.node:
        if qdq_fused and node.op_type in QDQ:
            continue
        ins = [stored(n) for n in node.input if n]
        outs = [stored(n, output=True) for n in node.output if n]
        byts = float(sum(c * w for c, w in ins + outs))
        out_count = size(node.output[0])[0] if node.output else 0
        flops = float(out_count) * (4 if node.op_type in TRANSCENDENTAL else 1)
        if node.op_type in ("MatMul", "Gemm", "MatMulInteger", "QLinearMatMul"):
            a_shape = info.get(node.input[0], ((1, 1), 1))[0]
            k = a_shape[-1] if a_shape else 1
            flops = 2.0 * out_count * k
        elif node.op_type in ("Conv", "ConvInteger", "QLinearConv"):
            w_shape = info.get(node.input[1], ((1, 1, 1, 1), 1))[0]
            flops = 2.0 * out_count * float(np.prod(w_shape[1:]))
        int8 = any(w == 1 for _, w in ins) and node.op_type not in ("DequantizeLinear",)
        costs.append(NodeCost(node.op_type, flops, byts, int8))
    io_bytes = sum(size(v.name)[0] * size(v.name)[1] for v in list(model.graph.input) + list(model.graph.output))
    return costs, float(io_bytes)


def cpu_peak_gflops(target: HardwareTarget, threads: int, int8: bool = False) -> float:
    mhz = _cpu_mhz()
    per_cycle = target.get("flops_per_cycle_int8" if int8 else "flops_per_cycle_fp32", 32)
    return threads * mhz * 1e6 * per_cycle / 1e9


def project(model_path: str | Path, target: HardwareTarget, *, batch: int = 1, threads: int = 1) -> Projection:
    costs, io_bytes = node_costs(model_path, batch, qdq_fused=target.kind == "cpu")
    eff_c = target.get("compute_efficiency", 0.3)
    eff_b = target.get("bandwidth_efficiency", 0.5)
    bw = target.get("memory_bandwidth_gbs", 20.0) * 1e9 * eff_b
    total_s = target.get("per_run_overhead_us", 20.0) * 1e-6
    assumptions: dict = {"model": "roofline per node + overheads (harness/latency/projection.py)",
                         "compute_efficiency": eff_c, "bandwidth_efficiency": eff_b,
                         "memory_bandwidth_gbs": target.get("memory_bandwidth_gbs"), "batch": batch}
    if target.kind == "gpu":
        peak = target.get("peak_fp32_tflops") * 1e12 * eff_c  # QDQ runs as FP32 on the CUDA provider
        per_node = target.get("kernel_launch_us") * 1e-6
        pcie = 2 * target.get("pcie_latency_us") * 1e-6 + io_bytes / (target.get("pcie_gbs") * 1e9)
        total_s += pcie
        assumptions.update(peak_fp32_tflops=target.get("peak_fp32_tflops"),
                           kernel_launch_us=target.get("kernel_launch_us"),
                           pcie_gbs=target.get("pcie_gbs"), pcie_ms=pcie * 1e3,
                           int8="QDQ executed as dequantize + FP32 kernels on the CUDA provider",
                           source=target.get("source"))
    else:
        # INT8 (QDQ) graphs: ONNX Runtime fuses Q/DQ pairs into integer kernels, so their nodes cost
        # less each, and the integer kernels reach their own share of the INT8 peak (fitted; calibration.py).
        quantized = any(c.int8 for c in costs)
        node_key = "int8_per_node_overhead_us" if quantized and "int8_per_node_overhead_us" in target.spec \
            else "per_node_overhead_us"
        per_node = target.get(node_key, 1.5) * 1e-6
        peak = cpu_peak_gflops(target, threads) * 1e9 * eff_c
        assumptions.update(cpu_mhz=_cpu_mhz(), threads=threads, flops_per_cycle_fp32=target.get("flops_per_cycle_fp32"),
                           int8_compute_efficiency=target.get("int8_compute_efficiency", eff_c),
                           fit=target.get("fit", "not fitted to this machine"))
    peak_int8 = (cpu_peak_gflops(target, threads, int8=True) * 1e9 * target.get("int8_compute_efficiency", eff_c)
                 if target.kind == "cpu" else peak)
    for c in costs:
        compute = c.flops / (peak_int8 if c.int8 else peak)
        total_s += max(compute, c.bytes / bw) + per_node
    assumptions["per_node_overhead_us"] = per_node * 1e6
    assumptions["per_run_overhead_us"] = target.get("per_run_overhead_us")
    return Projection(latency_ms=total_s * 1e3, nodes=len(costs), flops=sum(c.flops for c in costs),
                      bytes=sum(c.bytes for c in costs), assumptions=assumptions)


def _cpu_mhz() -> float:
    try:
        values = [float(line.split(":")[1]) for line in Path("/proc/cpuinfo").read_text().splitlines()
                  if line.startswith("cpu MHz")]
        if values:
            return max(values)
    except (OSError, ValueError):
        pass
    return 2500.0


__all__ = ["project", "node_costs", "Projection"]
