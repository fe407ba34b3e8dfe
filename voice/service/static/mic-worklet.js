// The microphone, as the server wants it: 16 kHz mono 16-bit little-endian PCM in 20 ms frames.
//
// Runs on the audio rendering thread. The page puts two low-pass filters (7 kHz) before this
// node, so averaging the input samples that fall into each output sample's interval is
// enough to downsample from the context's rate (44.1 or 48 kHz) without audible aliasing.
// Every frame is posted to the page as a transferable ArrayBuffer.

const TARGET_RATE = 16000;
const FRAME_SAMPLES = 320; // 20 ms at 16 kHz

class MicProcessor extends AudioWorkletProcessor {
  constructor() {
    super();
    this.step = sampleRate / TARGET_RATE; // input samples per output sample (fractional)
    this.position = 0;
    this.sum = 0;
    this.count = 0;
    this.frame = new Int16Array(FRAME_SAMPLES);
    this.filled = 0;
  }

  process(inputs) {
    const input = inputs[0];
    if (!input || input.length === 0) {
      return true; // no track connected yet, or it ended: keep the node alive
    }
    const channels = input.length;
    const length = input[0].length;
    for (let i = 0; i < length; i++) {
      let sample = 0;
      for (let c = 0; c < channels; c++) {
        sample += input[c][i];
      }
      this.sum += sample / channels;
      this.count += 1;
      this.position += 1;
      if (this.position >= this.step) {
        this.position -= this.step;
        const value = Math.max(-1, Math.min(1, this.sum / this.count));
        this.frame[this.filled++] = value < 0 ? value * 32768 : value * 32767;
        this.sum = 0;
        this.count = 0;
        if (this.filled === FRAME_SAMPLES) {
          this.port.postMessage(this.frame.buffer, [this.frame.buffer]);
          this.frame = new Int16Array(FRAME_SAMPLES);
          this.filled = 0;
        }
      }
    }
    return true;
  }
}

registerProcessor("mic-16k", MicProcessor);
