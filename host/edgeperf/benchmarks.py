"""One spec per MLPerf Tiny workload: the input contract, windowing, baud rates and quality target.

These are the facts the rules, datasets and reports share; they live only here.
"""

from __future__ import annotations

from dataclasses import dataclass

from .errors import ConfigError


@dataclass(frozen=True)
class Benchmark:
    name: str                      # the model string the firmware prints in m-model-[...]
    title: str
    file_bytes: int                # size of one dataset .bin file
    input_bytes: int               # bytes uploaded per inference (one window for ad01)
    input_format: str
    classes: tuple[str, ...]       # output labels; empty for the anomaly detector
    metric: str                    # "top1", "auc", or "fps_fns" (a stream: at most N false positives and N misses)
    quality_target: float          # top-1 in percent, AUC, or the most false positives (and negatives) allowed
    baud_performance: int
    baud_energy: int = 9600
    window_stride: int | None = None  # ad01: windows of input_bytes every window_stride bytes
    reference_md5: str = ""        # md5 of the official MLPerf Tiny model
    #: Largest |TFLite Micro - LiteRT| output, in output quantization steps, measured on the bundled and the official
    #: model with the bundled samples (benchmarks/golden_tolerance.py): the golden check's LiteRT allowance.
    litert_steps: int = 0
    #: File name of the official model in mlcommons/tiny (for messages that say which model to give).
    reference_file: str = ""
    #: The benchmark whose dataset and bundled samples this one uses (ic02 is scored on ic01's); "" for its own.
    dataset_of: str = ""
    #: Its folder in the MLPerf Tiny submission tree (mlperf-tiny-protocol.md 6.1).
    submission_name: str = ""
    #: Benchmarks a submission must also hold to include this one ("progressively larger submissions").
    submitted_with: tuple[str, ...] = ()

    @property
    def data_name(self) -> str:
        """The `<root>/<name>/` folder of its dataset, and the name its manifest and accuracy set go by."""
        return self.dataset_of or self.name
    #: "single": one input uploaded per inference; "streaming": audio played to the board by an interface board.
    kind: str = "single"

    @property
    def streaming(self) -> bool:
        return self.kind == "streaming"

    @property
    def windows_per_file(self) -> int:
        if self.window_stride is None:
            return 1
        return (self.file_bytes - self.input_bytes) // self.window_stride + 1

    def window(self, data: bytes, index: int = 0) -> bytes:
        """The bytes uploaded for inference `index` of a dataset file."""
        if self.window_stride is None:
            if index:
                raise IndexError(f"{self.name} files hold one input")
            return data
        start = index * self.window_stride
        return data[start: start + self.input_bytes]


KWS_CLASSES = ("down", "go", "left", "no", "off", "on", "right", "stop", "up", "yes", "silence", "unknown")
#: The streaming wakeword model's output order (class 0 is the wake word "marvin").
SWW_CLASSES = ("marvin", "silence", "unknown")
IC_CLASSES = ("airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck")

BENCHMARKS: dict[str, Benchmark] = {
    b.name: b
    for b in (
        Benchmark("kws01", "Keyword spotting (DS-CNN)", 490, 490, "int8 MFCC 49x10, quantized with the model's input parameters",
                  KWS_CLASSES, "top1", 90.0, 115200, reference_md5="618aeb155673dae92fa6a7f26608add5",
                  litert_steps=0, reference_file="kws_ref_model.tflite", submission_name="kws"),
        Benchmark("vww01", "Visual wake words (MobileNetV1 0.25)", 27648, 27648, "uint8 RGB 96x96x3, HWC",
                  ("notperson", "person"), "top1", 80.0, 115200, reference_md5="f0b011416abee0343a5d130cb1f4c18f",
                  litert_steps=0, reference_file="vww_96_int8.tflite", submission_name="vww"),
        Benchmark("ic01", "Image classification (ResNet-8)", 3072, 3072, "uint8 RGB 32x32x3, HWC",
                  IC_CLASSES, "top1", 85.0, 115200, reference_md5="2d6dd48722471313e4c4528249205ae3",
                  litert_steps=30, reference_file="pretrainedResnet_quant.tflite", submission_name="ic"),
        # v1.4: the larger ResNet on the ic01 dataset. litert_steps: the official model, 38 steps (25 of the 50
        # bundled ic01 samples differ); the bundled ic02 model, 6 steps (2 of 50).
        Benchmark("ic02", "Image classification 2 (larger ResNet)", 3072, 3072, "uint8 RGB 32x32x3, HWC",
                  IC_CLASSES, "top1", 91.0, 115200, reference_md5="a1557194b784a2a1842bf6896f30ce7e",
                  litert_steps=38, reference_file="pretrainedResnet_large_int8.tflite", dataset_of="ic01",
                  submission_name="ic2", submitted_with=("ic01",)),
        Benchmark("ad01", "Anomaly detection (FC autoencoder)", 102400, 2560,
                  "float32 log-mel 200x128, windows of 5 frames (2560 B) every 512 B",
                  (), "auc", 0.85, 921600, window_stride=512, reference_md5="361fa1b1b871e2068b2ab38d9805ef56",
                  litert_steps=1, reference_file="ad01_int8.tflite", submission_name="ad"),
        # sww01 runs at 115200 baud in every mode (devices_sww.yaml); its "file" is a wav on the interface board.
        Benchmark("sww01", "Streaming wakeword (1-D DS-CNN)", 0, 1200,
                  "int8 log filterbank energies 30x40 from 1024-sample frames every 512 samples at 16 kHz",
                  SWW_CLASSES, "fps_fns", 8.0, 115200, baud_energy=115200,
                  reference_md5="9643512e0b8a0b6e643e70c2fec496ee", reference_file="str_ww_ref_model.tflite",
                  submission_name="sww", kind="streaming"),
    )
}


def get_benchmark(name: str) -> Benchmark:
    try:
        return BENCHMARKS[name]
    except KeyError:
        raise ConfigError(f"unknown benchmark {name!r}; choose one of {', '.join(BENCHMARKS)}") from None


#: What `edgeperf run` runs with no --benchmark: every single-input benchmark (sww01 plays a whole stream: ask for it).
DEFAULT_BENCHMARKS = tuple(name for name, b in BENCHMARKS.items() if not b.streaming)
