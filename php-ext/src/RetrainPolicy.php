<?php

declare(strict_types=1);

namespace TenantMl;

/**
 * When to retrain: turns drift reports, streaming-detector alarms, backtest
 * errors and model age into a decision with reasons. The policy keeps no
 * state of its own; the application stores the state JSON each decision
 * returns and passes it to the next:
 *
 *     $policy = new RetrainPolicy(['consecutive_drift_reports' => 2]);
 *     $decision = $policy->decide([
 *         'now' => time(),
 *         'model_trained_at' => $model->trainedAt,
 *         'dataset_drift' => $report['dataset_drift'],
 *         'error_drift_detected' => $detectorFired,
 *     ], Cache::get('retrain-state'));
 *     Cache::put('retrain-state', $decision['state']);
 *     if ($decision['retrain']) {
 *         dispatch(new RetrainModel($tenant));   // $decision['reasons'] says why
 *     }
 */
final class RetrainPolicy
{
    private ?string $json;

    /**
     * @param array<string, mixed> $policy consecutive_drift_reports (3; 0 = off),
     *        retrain_on_error_drift (true), max_error_increase_pct (20; null = off),
     *        max_model_age_secs (30 days; null = off). Unknown keys are a ParseException
     *        on the first decide().
     */
    public function __construct(array $policy = [])
    {
        $this->json = DriftData::json($policy);
    }

    /**
     * Evaluate the triggers.
     *
     * @param array<string, mixed> $input now and model_trained_at (unix seconds), and
     *        optionally dataset_drift (bool|null), error_drift_detected (bool),
     *        backtest_error and baseline_error (floats)
     * @param string|null $stateJson the 'state' of the previous decision; null = first
     * @return array{retrain: bool, reasons: list<array<string, mixed>>, at: int, state: string}
     *         reasons carry a 'trigger' ('consecutive_drift' | 'error_stream_drift' |
     *         'error_above_baseline' | 'model_age') and its figures; state is JSON to store
     * @throws Exception\InvalidArgumentException for a clock before the training time or bad errors
     * @throws Exception\ParseException for unknown keys or a damaged state
     */
    public function decide(array $input, ?string $stateJson = null): array
    {
        $ffi = Native::ffi();
        if ($input === [] || array_is_list($input)) {
            throw DriftData::invalid("the policy input must have keys 'now' and 'model_trained_at'");
        }
        $inputJson = (string) DriftData::json($input);
        $answer = Native::decodeJson(DriftData::callString(
            $ffi,
            fn ($out) => $ffi->tml_drift_policy_decide_json($this->json, $stateJson, $inputJson, $out)
        ));
        $decision = $answer['decision'];
        $decision['state'] = json_encode($answer['state'], JSON_THROW_ON_ERROR | JSON_PRESERVE_ZERO_FRACTION);
        return $decision;
    }
}
