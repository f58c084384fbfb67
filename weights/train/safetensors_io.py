"""Minimal reader/writer for the safetensors format (the `safetensors` pip package is not
available on this machine).

Layout of a .safetensors file:
  * 8 bytes: little-endian uint64 N = length of the JSON header
  * N bytes: UTF-8 JSON  {name: {"dtype": "F32", "shape": [...], "data_offsets": [begin, end]},
                          "__metadata__": {str: str}}   (padded with spaces to a multiple of 8)
  * the raw little-endian tensor bytes; offsets are relative to the start of this data block.

Only the dtypes we need are supported. Everything written by this project is F32.
"""
import json
import struct
from collections import OrderedDict

import numpy as np
import torch

_DTYPES = {
    "F32": (np.float32, torch.float32),
    "F64": (np.float64, torch.float64),
    "F16": (np.float16, torch.float16),
    "I64": (np.int64, torch.int64),
    "I32": (np.int32, torch.int32),
    "U8": (np.uint8, torch.uint8),
}
_TORCH_TO_CODE = {v[1]: k for k, v in _DTYPES.items()}


def load_file(path):
    """Read a safetensors file into an OrderedDict name -> torch.Tensor (CPU, copied)."""
    with open(path, "rb") as f:
        data = f.read()
    (n,) = struct.unpack("<Q", data[:8])
    header = json.loads(data[8:8 + n].decode("utf-8"))
    base = 8 + n
    out = OrderedDict()
    for name, info in header.items():
        if name == "__metadata__":
            continue
        np_dtype, _ = _DTYPES[info["dtype"]]
        begin, end = info["data_offsets"]
        arr = np.frombuffer(data, dtype=np.dtype(np_dtype).newbyteorder("<"),
                            count=(end - begin) // np.dtype(np_dtype).itemsize, offset=base + begin)
        out[name] = torch.from_numpy(arr.astype(np_dtype, copy=True)).reshape(info["shape"])
    return out


def load_metadata(path):
    with open(path, "rb") as f:
        (n,) = struct.unpack("<Q", f.read(8))
        header = json.loads(f.read(n).decode("utf-8"))
    return header.get("__metadata__", {})


def save_file(tensors, path, metadata=None):
    """Write name -> tensor as safetensors. Tensors are stored contiguous, little-endian,
    in their own dtype (callers convert to float32 first), sorted by name."""
    header = OrderedDict()
    if metadata:
        header["__metadata__"] = {str(k): str(v) for k, v in metadata.items()}
    blobs = []
    offset = 0
    for name in sorted(tensors):
        t = tensors[name].detach().cpu().contiguous()
        code = _TORCH_TO_CODE[t.dtype]
        np_dtype = _DTYPES[code][0]
        raw = t.numpy().astype(np.dtype(np_dtype).newbyteorder("<"), copy=False).tobytes()
        header[name] = {"dtype": code, "shape": list(t.shape), "data_offsets": [offset, offset + len(raw)]}
        blobs.append(raw)
        offset += len(raw)
    hbytes = json.dumps(header, separators=(",", ":")).encode("utf-8")
    hbytes += b" " * ((8 - len(hbytes) % 8) % 8)  # align the data block to 8 bytes
    tmp = path + ".tmp"
    with open(tmp, "wb") as f:
        f.write(struct.pack("<Q", len(hbytes)))
        f.write(hbytes)
        for b in blobs:
            f.write(b)
    import os
    os.replace(tmp, path)
