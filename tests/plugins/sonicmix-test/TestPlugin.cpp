// A small stereo effect built as a VST3 for sonicmix's tests of PluginNode with plugin files.
//
// Signal path, per channel: one-pole low-pass ("Tone", Hz) -> gain ("Gain", dB) -> a delay of
// LATENCY samples, which the plugin reports as its latency. Every stage carries state across
// run() calls, so a host that streams it wrongly (resetting between blocks, or sharing one
// instance between two streams) gives a different result from one long call. Parameters apply
// from the first sample of the block they are set before, without smoothing, so a host that
// splits blocks at automation points can be checked exactly.

#include "DistrhoPlugin.hpp"

#include <cmath>
#include <cstring>

START_NAMESPACE_DISTRHO

static constexpr uint32_t LATENCY = 64;  // samples; a power of two for the ring buffer's mask

enum Parameters { kGain = 0, kTone, kParameterCount };

class SonicmixTestPlugin : public Plugin {
public:
    SonicmixTestPlugin()
        : Plugin(kParameterCount, 0, 0)
    {
        setLatency(LATENCY);
        clear();
        updateCoefficients();
    }

protected:
    const char* getLabel() const override { return "sonicmix_test"; }
    const char* getDescription() const override { return "Low-pass, gain and a reported delay (sonicmix's tests)"; }
    const char* getMaker() const override { return "sonicmix"; }
    const char* getLicense() const override { return "MIT"; }
    uint32_t getVersion() const override { return d_version(1, 0, 0); }
    int64_t getUniqueId() const override { return d_cconst('s', 'm', 'x', 't'); }

    void initParameter(uint32_t index, Parameter& parameter) override
    {
        parameter.hints = kParameterIsAutomatable;
        if (index == kGain) {
            parameter.name = "Gain";
            parameter.symbol = "gain";
            parameter.unit = "dB";
            parameter.ranges.def = 0.0f;
            parameter.ranges.min = -24.0f;
            parameter.ranges.max = 24.0f;
        } else if (index == kTone) {
            parameter.hints |= kParameterIsLogarithmic;
            parameter.name = "Tone";
            parameter.symbol = "tone";
            parameter.unit = "Hz";
            parameter.ranges.def = 20000.0f;
            parameter.ranges.min = 20.0f;
            parameter.ranges.max = 20000.0f;
        }
    }

    float getParameterValue(uint32_t index) const override
    {
        return index == kGain ? fGainDb : fToneHz;
    }

    void setParameterValue(uint32_t index, float value) override
    {
        if (index == kGain)
            fGainDb = value;
        else if (index == kTone)
            fToneHz = value;
        updateCoefficients();
    }

    void sampleRateChanged(double) override { updateCoefficients(); }

    void activate() override
    {
        clear();
        updateCoefficients();
    }

    void run(const float** inputs, float** outputs, uint32_t frames) override
    {
        for (uint32_t c = 0; c < 2; ++c) {
            const float* in = inputs[c];
            float* out = outputs[c];
            double low = fLow[c];
            uint32_t pos = fPos;
            for (uint32_t i = 0; i < frames; ++i) {
                low += fCoef * (static_cast<double>(in[i]) - low);
                const float delayed = fRing[c][pos];
                fRing[c][pos] = static_cast<float>(low * fGain);
                out[i] = delayed;  // written after reading: the host may pass one buffer as in and out
                pos = (pos + 1) & (LATENCY - 1);
            }
            fLow[c] = low;
        }
        fPos = (fPos + frames) & (LATENCY - 1);
    }

private:
    float fGainDb = 0.0f;
    float fToneHz = 20000.0f;
    double fGain = 1.0;
    double fCoef = 1.0;
    double fLow[2];
    float fRing[2][LATENCY];
    uint32_t fPos = 0;

    void clear()
    {
        fLow[0] = fLow[1] = 0.0;
        std::memset(fRing, 0, sizeof(fRing));
        fPos = 0;
    }

    void updateCoefficients()
    {
        fGain = std::pow(10.0, fGainDb / 20.0);
        // one-pole low-pass by impulse invariance; a cutoff at or over Nyquist passes everything
        const double rate = getSampleRate() > 0.0 ? getSampleRate() : 48000.0;
        const double ratio = std::fmin(static_cast<double>(fToneHz) / rate, 0.5);
        fCoef = ratio >= 0.5 ? 1.0 : 1.0 - std::exp(-2.0 * M_PI * ratio);
    }

    DISTRHO_DECLARE_NON_COPYABLE_WITH_LEAK_DETECTOR(SonicmixTestPlugin)
};

Plugin* createPlugin() { return new SonicmixTestPlugin(); }

END_NAMESPACE_DISTRHO
