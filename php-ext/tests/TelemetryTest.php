<?php

declare(strict_types=1);

namespace TenantMl\Tests;

use TenantMl\BreakerStore;
use TenantMl\ChurnPredictor;
use TenantMl\DriftDetector;
use TenantMl\Exception\InvalidArgumentException;
use TenantMl\Exception\ParseException;
use TenantMl\Exception\StoreCorruptException;
use TenantMl\FraudScorer;
use TenantMl\Telemetry;
use TenantMl\UsagePredictor;

/**
 * Telemetry through PHP: predictions of the PHP classes counted by the
 * library, the page with breakers, bad input, and several PHP processes adding
 * into one shared file. Once openShared() ran, this PHPUnit process records
 * into that file: every test uses its own model names.
 */
final class TelemetryTest extends TestCase
{
    private const WORKER = __DIR__ . '/fixtures/telemetry-worker.php';

    private static function sample(string $page, string $series): ?float
    {
        foreach (explode("\n", $page) as $line) {
            if (str_starts_with($line, $series . ' ')) {
                return (float) substr($line, strlen($series) + 1);
            }
        }
        return null;
    }

    private static function predictions(string $model, string $outcome): ?float
    {
        return self::sample(
            Telemetry::metrics(),
            "tenantml_predictions_total{model=\"{$model}\",outcome=\"{$outcome}\"}"
        );
    }

    public function testPredictionsOfThePhpClassesAreCounted(): void
    {
        Telemetry::openShared($this->tempDir() . '/metrics.shm');

        $fraud = FraudScorer::rulesOnly();
        $fraud->setName('php-fraud', 4);
        $fraud->score(['amount' => 12.5, 'timestamp' => 1767787200]);
        $fraud->score(['amount' => 99.0, 'timestamp' => 1767787300]);
        $this->assertSame(2.0, self::predictions('php-fraud', 'fallback'));

        $churn = ChurnPredictor::rulesOnly();
        $churn->setMetadata(['name' => 'php-churn']);
        $churn->predictFeatures(array_fill(0, count(ChurnPredictor::featureNames()), 0.0));
        $this->assertSame(1.0, self::predictions('php-churn', 'fallback'));

        $t = [];
        $v = [];
        for ($i = 0; $i < 21 * 24; $i++) {
            $t[] = 1704067200 + $i * 3600;
            $v[] = (($i % 24) >= 8 && ($i % 24) < 18 ? 16.0 : 5.0) + ($i % 7) / 10;
        }
        $usage = UsagePredictor::fit($t, $v, ['model' => ['gbdt' => ['rounds' => 20], 'forest' => ['trees' => 5]]]);
        $usage->setMetadata(['name' => 'php-usage']);
        $regime = $usage->forecast($t, $v, 12)['regime'];
        $this->assertSame(1.0, self::predictions('php-usage', $regime));
    }

    public function testDriftReportsSetTheDriftGauges(): void
    {
        $report = DriftDetector::compare(
            ['amount' => range(1, 50), 'hour' => range(1, 50)],
            ['amount' => range(41, 90), 'hour' => range(1, 50)]
        );
        Telemetry::recordDrift('fraud-eu', $report);
        $page = Telemetry::metrics();
        $this->assertTrue($report['dataset_drift']);
        $this->assertSame(1.0, self::sample($page, 'tenantml_drift_detected{model="fraud-eu"}'));
        $this->assertSame(
            $report['features'][0]['statistic'],
            self::sample($page, 'tenantml_drift_score{model="fraud-eu",feature="amount"}')
        );
        $this->assertSame(0.0, self::sample($page, 'tenantml_drift_score{model="fraud-eu",feature="hour"}'));
        $this->expectException(ParseException::class);
        Telemetry::recordDrift('fraud-eu', '{"features": 3}');
    }

    public function testThePageHasEveryFamilyAndTheBreakers(): void
    {
        Telemetry::recordPrediction('php-page "api"', 'fallback', 0.25);
        Telemetry::recordPrediction('php-page "api"', 'fallback', 0.0000005);
        Telemetry::setModelVersion('php-page "api"', 17);
        $store = BreakerStore::inProcess();
        $store->breaker('php-page-breaker');

        $page = Telemetry::metrics($store);
        $series = 'model="php-page \\"api\\"",outcome="fallback"';
        $this->assertSame(2.0, self::sample($page, "tenantml_predictions_total{{$series}}"));
        $this->assertSame(1.0, self::sample($page, "tenantml_prediction_latency_seconds_bucket{{$series},le=\"0.000001\"}"));
        $this->assertSame(2.0, self::sample($page, "tenantml_prediction_latency_seconds_bucket{{$series},le=\"1\"}"));
        $this->assertEqualsWithDelta(0.2500005, self::sample($page, "tenantml_prediction_latency_seconds_sum{{$series}}"), 1e-12);
        $this->assertSame(17.0, self::sample($page, 'tenantml_model_version_in_use{model="php-page \\"api\\""}'));
        $this->assertSame(1.0, self::sample($page, 'tenantml_breaker_state{breaker="php-page-breaker",state="closed"}'));
        foreach (['tenantml_drift_score gauge', 'tenantml_prediction_latency_seconds histogram', 'tenantml_telemetry_dropped_total counter'] as $type) {
            $this->assertSame(1, substr_count($page, "# TYPE {$type}\n"), $type);
        }
        $this->assertStringNotContainsString('tenantml_breaker_state', Telemetry::metrics());
        $this->assertStringStartsWith('text/plain; version=0.0.4', Telemetry::CONTENT_TYPE);
    }

    public function testBadInputIsAnExceptionNotACrash(): void
    {
        $cases = [
            'empty model' => fn () => Telemetry::recordPrediction('', 'model', 0.1),
            'long model' => fn () => Telemetry::recordPrediction(str_repeat('x', 65), 'model', 0.1),
            'empty outcome' => fn () => Telemetry::recordPrediction('m', '', 0.1),
            'not UTF-8' => fn () => Telemetry::recordPrediction("\xff\xfe", 'model', 0.1),
            'NaN' => fn () => Telemetry::recordPrediction('m', 'model', NAN),
            'infinite' => fn () => Telemetry::recordPrediction('m', 'model', INF),
            'negative' => fn () => Telemetry::recordPrediction('m', 'model', -1.0),
            'negative version' => fn () => Telemetry::setModelVersion('m', -1),
            'empty version model' => fn () => Telemetry::setModelVersion('', 1),
            'capacity' => fn () => Telemetry::openShared($this->tempDir() . '/m.shm', 1 << 20),
            'negative capacity' => fn () => Telemetry::openShared(null, -1),
            'empty path' => fn () => Telemetry::openShared(''),
        ];
        foreach ($cases as $what => $call) {
            try {
                $call();
                $this->fail("{$what}: no exception");
            } catch (InvalidArgumentException $e) {
                $this->assertNotSame('', $e->getMessage(), $what);
            }
        }
        $foreign = $this->tempDir() . '/foreign.shm';
        file_put_contents($foreign, 'somebody else\'s file');
        try {
            Telemetry::openShared($foreign);
            $this->fail('foreign file opened');
        } catch (StoreCorruptException $e) {
            $this->assertStringContainsString('not a tenantml metrics file', $e->getMessage());
        }
        $this->assertSame('somebody else\'s file', file_get_contents($foreign), 'the foreign file is left alone');
    }

    public function testWorkersInSeveralProcessesAddUp(): void
    {
        $path = $this->tempDir() . '/metrics.shm';
        $workers = [];
        for ($i = 0; $i < 3; $i++) {
            $workers[] = $this->start([$path, 'record', '400']);
        }
        foreach ($workers as $worker) {
            $result = json_decode($this->finish($worker), true);
            $this->assertIsArray($result);
            $this->assertNotSame(getmypid(), $result['pid']);
        }
        // A fresh worker that recorded nothing serves the whole host's page.
        $page = $this->finish($this->start([$path, 'page']));
        $this->assertSame(900.0, self::sample($page, 'tenantml_predictions_total{model="php-http",outcome="model"}'));
        $this->assertSame(300.0, self::sample($page, 'tenantml_predictions_total{model="php-http",outcome="fallback"}'));
        $this->assertSame(
            300.0,
            self::sample($page, 'tenantml_prediction_latency_seconds_bucket{model="php-http",outcome="fallback",le="0.0025"}') === 0.0
                ? self::sample($page, 'tenantml_prediction_latency_seconds_bucket{model="php-http",outcome="fallback",le="0.01"}')
                : -1.0,
            '4 ms is over the 2.5 ms bound and within 10 ms'
        );
        $this->assertSame(3.0, self::sample($page, 'tenantml_predictions_total{model="php-worker-fraud",outcome="fallback"}'));
    }

    /** @return array{resource, array<int, resource>} */
    private function start(array $args): array
    {
        $process = proc_open([PHP_BINARY, self::WORKER, ...$args], [1 => ['pipe', 'w'], 2 => ['pipe', 'w']], $pipes);
        $this->assertIsResource($process);
        return [$process, $pipes];
    }

    /** @param array{resource, array<int, resource>} $worker */
    private function finish(array $worker): string
    {
        [$process, $pipes] = $worker;
        $stdout = (string) stream_get_contents($pipes[1]);
        $stderr = (string) stream_get_contents($pipes[2]);
        fclose($pipes[1]);
        fclose($pipes[2]);
        $this->assertSame(0, proc_close($process), "worker failed: {$stderr}");
        $this->assertSame('', $stderr, 'worker wrote to stderr');
        return $stdout;
    }
}
