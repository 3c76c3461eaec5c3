<?php

declare(strict_types=1);

namespace TenantMl\Tests;

use TenantMl\Exception\BadModelFileException;
use TenantMl\Exception\InvalidArgumentException;
use TenantMl\Exception\ParseException;
use TenantMl\Exception\TenantMlException;
use TenantMl\FraudScorer;

/**
 * FraudScorer through PHP: the cold-start model, the rules-only fallback, a
 * model fitted on labelled transactions, reasons, history shapes, schema codes,
 * persistence and bad input.
 */
final class FraudScorerTest extends TestCase
{
    /** Thursday 2026-01-08T19:20:00Z. */
    private const T0 = 1767900000;
    private const DAY = 86400;

    private static ?FraudScorer $coldStart = null;

    private static function coldStart(): FraudScorer
    {
        return self::$coldStart ??= FraudScorer::coldStart('training', 42);
    }

    /** @return array<string, mixed> */
    private static function txn(array $overrides = []): array
    {
        return $overrides + [
            'amount' => 35.0,
            'timestamp' => self::T0,
            'customer' => 'cus_1',
            'payment_method' => 'card_usual',
            'currency' => 'EUR',
            'country' => 'DE',
            'ip_country' => 'DE',
            'category' => 'groceries',
        ];
    }

    /** Twenty days of one purchase a day on the usual card from Germany. */
    private static function history(int $days = 20): array
    {
        $rows = [];
        for ($d = 1; $d <= $days; $d++) {
            $rows[] = [
                'amount' => 28.0 + $d % 9,
                'timestamp' => self::T0 - $d * self::DAY + 3600 * ($d % 5),
                'payment_method' => 'card_usual',
                'country' => 'DE',
                'outcome' => 'succeeded',
            ];
        }
        return $rows;
    }

    /** Eight tiny attempts in the last minutes on a new card, most failing. */
    private static function cardTesting(): array
    {
        $rows = self::history();
        for ($i = 1; $i <= 8; $i++) {
            $rows[] = [
                'amount' => 1.0,
                'timestamp' => self::T0 - 25 * $i,
                'payment_method' => 'card_new',
                'country' => 'DE',
                'failed' => $i > 1,
            ];
        }
        return $rows;
    }

    public function testColdStartApprovesTheUsualAndDeclinesCardTesting(): void
    {
        $scorer = self::coldStart();
        $usual = $scorer->score(self::txn(), self::history());
        $this->assertSame('cold_start', $usual['regime']);
        $this->assertSame('fraud-cold-start', $usual['model_name']);
        $this->assertSame(1, $usual['model_version']);
        $this->assertSame('approve', $usual['decision']);
        $this->assertSame([], $usual['rule_hits']);
        $this->assertLessThan(0.05, $usual['score']);

        $testing = $scorer->score(self::txn(['amount' => 1.0, 'payment_method' => 'card_new']), self::cardTesting());
        $this->assertSame('decline', $testing['decision']);
        $this->assertGreaterThan(0.5, $testing['score']);
        $this->assertContains('velocity_10m', $testing['rule_hits']);
        $this->assertContains('failed_attempts', $testing['rule_hits']);
    }

    public function testTakeoverAndSpikeScoreAboveTheUsual(): void
    {
        $scorer = self::coldStart();
        $usual = $scorer->score(self::txn(), self::history())['score'];
        $takeover = $scorer->score(
            self::txn(['amount' => 420.0, 'payment_method' => 'card_other', 'country' => 'BR', 'ip_country' => 'NG']),
            self::history()
        );
        $this->assertGreaterThan($usual, $takeover['score']);
        $this->assertContains('new_method_foreign', $takeover['rule_hits']);
        // 25x the median on the usual card: riskier than usual, flagged by the rules (the
        // cold-start model alone rates such spikes low: see the demo).
        $spike = $scorer->score(self::txn(['amount' => 800.0, 'category' => 'electronics']), self::history());
        $this->assertGreaterThan($usual * 10, $spike['score']);
        $this->assertContains('amount_spike', $spike['rule_hits']);
    }

    public function testExplainGivesModelReasonsThenRuleHits(): void
    {
        $answer = self::coldStart()->explain(
            self::txn(['amount' => 1.0, 'payment_method' => 'card_new']),
            self::cardTesting(),
            3
        );
        $this->assertSame('cold_start', $answer['regime']);
        $sources = array_column($answer['reasons'], 'source');
        $this->assertSame(['model', 'model', 'model'], array_slice($sources, 0, 3));
        $this->assertSame(count($answer['rule_hits']), count(array_keys($sources, 'rule', true)));
        foreach ($answer['reasons'] as $reason) {
            $this->assertNotSame('', $reason['description']);
            $this->assertIsString($reason['code']);
        }
        $this->assertGreaterThan(0.0, $answer['reasons'][0]['weight']);
        $this->assertContains('rule:velocity_10m', array_column($answer['reasons'], 'code'));
        $plain = self::coldStart()->score(self::txn(['amount' => 1.0, 'payment_method' => 'card_new']), self::cardTesting());
        $this->assertSame($plain['score'], $answer['score']);
    }

    public function testRulesOnlyIsTheFallbackWithExactRuleScores(): void
    {
        $scorer = FraudScorer::rulesOnly([
            'name' => 'platform-rules',
            'version' => 7,
            'review_at' => 0.3,
            'decline_at' => 0.7,
            'rules' => [
                ['type' => 'amount_over', 'limit' => 500, 'weight' => 0.4],
                ['type' => 'velocity_count', 'window' => '10m', 'max_count' => 3, 'weight' => 0.5, 'code' => 'card_testing'],
            ],
        ], ['countries' => ['DE', 'FR'], 'time_zone' => 'Europe/Berlin']);
        $calm = $scorer->score(self::txn(['currency' => null, 'category' => null]), self::history());
        $this->assertSame(
            ['score' => 0.0, 'decision' => 'approve', 'regime' => 'fallback', 'model_name' => 'platform-rules',
                'model_version' => 7, 'rule_hits' => [], 'rule_score' => 0.0],
            $calm
        );
        $big = $scorer->score(self::txn(['amount' => 900]), self::cardTesting());
        $this->assertSame(['amount_over', 'card_testing'], $big['rule_hits']);
        $this->assertEqualsWithDelta(0.7, $big['score'], 1e-12);
        $this->assertSame('decline', $big['decision']);
        $why = $scorer->explain(self::txn(['amount' => 900]), self::cardTesting(), 1);
        $this->assertSame(['rule:card_testing'], array_column($why['reasons'], 'code'));

        // A hard rule: its weight alone approves, its action makes the decision a review.
        $hard = FraudScorer::rulesOnly(['rules' => [
            ['type' => 'amount_over', 'limit' => 500, 'weight' => 0.1, 'action' => 'review'],
        ]], ['countries' => ['DE', 'FR']]);
        $held = $hard->score(self::txn(['amount' => 900, 'currency' => null, 'category' => null]), self::history());
        $this->assertEqualsWithDelta(0.1, $held['score'], 1e-12);
        $this->assertSame('review', $held['decision']);

        $default = FraudScorer::rulesOnly();
        $this->assertSame('default-rules', $default->info()['name']);
        $this->assertEquals(FraudScorer::defaultRules()['rules'], $default->info()['rules']['rules']);
    }

    public function testFittedModelAnswersAsModelAndSurvivesPersistence(): void
    {
        [$transactions, $labels] = self::labelled();
        $scorer = FraudScorer::fit($transactions, $labels, [
            'currencies' => ['EUR'],
            'countries' => ['DE', 'FR'],
            'categories' => ['books'],
        ], ['name' => 'acme-fraud', 'version' => 3, 'model' => ['gbdt' => ['rounds' => 40, 'min_samples_leaf' => 2]]]);
        $usual = $scorer->score(self::txn(['category' => 'books']), self::history());
        $this->assertSame('model', $usual['regime']);
        $this->assertSame('acme-fraud', $usual['model_name']);
        $this->assertSame(3, $usual['model_version']);
        $testing = $scorer->score(self::txn(['amount' => 1.0, 'payment_method' => 'card_new']), self::cardTesting());
        $this->assertGreaterThan($usual['score'], $testing['score']);
        $this->assertSame(count($labels), (int) $scorer->info()['metadata']['training_metrics']['rows']);

        $copy = FraudScorer::fromBytes($scorer->toBytes());
        $this->assertSame($usual, $copy->score(self::txn(['category' => 'books']), self::history()));
        $path = $this->tempDir() . '/fraud.tml';
        $scorer->save($path);
        $this->assertSame($usual, FraudScorer::load($path)->score(self::txn(['category' => 'books']), self::history()));
        $restored = unserialize(serialize($scorer));
        $this->assertInstanceOf(FraudScorer::class, $restored);
        $this->assertSame($testing, $restored->score(self::txn(['amount' => 1.0, 'payment_method' => 'card_new']), self::cardTesting()));

        $scorer->setName('acme-fraud', 4);
        $scorer->setThresholds(0.0, 0.0);
        $renamed = $scorer->score(self::txn(['category' => 'books']), self::history());
        $this->assertSame([4, 'decline'], [$renamed['model_version'], $renamed['decision']]);
    }

    public function testHistoryAsColumnsRowsIsoTimesAndCodesAgree(): void
    {
        $scorer = self::coldStart();
        $rows = self::cardTesting();
        $columns = [
            'amount' => array_column($rows, 'amount'),
            'timestamp' => array_column($rows, 'timestamp'),
            'payment_method' => array_column($rows, 'payment_method'),
            'country' => array_column($rows, 'country'),
            'outcome' => array_map(static fn (array $r): int => ($r['failed'] ?? false) ? 1 : 0, $rows),
        ];
        $txn = self::txn(['amount' => 1.0, 'payment_method' => 'card_new']);
        $expected = $scorer->score($txn, $rows);
        $this->assertSame($expected, $scorer->score($txn, $columns));
        $iso = array_map(static fn (array $r): array => ['timestamp' => gmdate('Y-m-d\TH:i:s\Z', $r['timestamp'])] + $r, $rows);
        $this->assertSame($expected, $scorer->score(['timestamp' => new \DateTimeImmutable('@' . self::T0)] + $txn, $iso));
        $codes = $txn;
        foreach (['currency', 'country', 'ip_country', 'category'] as $field) {
            $codes[$field] = $scorer->code($field, $txn[$field]);
        }
        $this->assertSame($expected, $scorer->score($codes, $rows));
        $this->assertGreaterThan(0, $scorer->code('country', 'DE'));
        $this->assertSame($scorer->code('country', 'FR'), $scorer->code('ip_country', 'FR'));
        $this->assertSame(0, $scorer->code('currency', 'Dogecoin'));
        // Mixed shapes take the element-by-element path and agree too.
        $mixed = $rows;
        $mixed[0]['country'] = $scorer->code('country', 'DE');
        $mixed[1]['outcome'] = 0;
        $this->assertSame($expected, $scorer->score($txn, $mixed));
        // Unknown strings are code 0 and score normally.
        $this->assertSame('approve', $scorer->score(self::txn(['country' => 'Atlantis', 'ip_country' => 'Atlantis']), [])['decision']);
    }

    public function testFeaturesByName(): void
    {
        $features = self::coldStart()->features(self::txn(['amount' => 1.0, 'payment_method' => 'card_new']), self::cardTesting());
        $this->assertSame(9.0, $features['count_10m']);
        $this->assertSame(7.0, $features['failed_24h']);
        $this->assertSame(28.0, $features['history_length']);
        $this->assertSame(1.0, $features['rule_velocity_10m']);
        $this->assertCount(29, $features);
        $this->assertNan(self::coldStart()->features(self::txn(), [])['seconds_since_previous']);
    }

    public function testRulesConfigIsCheckedWithClearErrors(): void
    {
        $normalised = FraudScorer::checkRules(['rules' => [['type' => 'failed_attempts', 'min_count' => 2, 'weight' => 0.5]]]);
        $this->assertSame('failed_attempts', $normalised['rules'][0]['code']);
        $bad = [
            ['{not json', 'fraud rules'],
            [['rules' => [['type' => 'moon_phase', 'weight' => 0.5]]], 'moon_phase'],
            [['rules' => [['type' => 'amount_over', 'limit' => -5, 'weight' => 0.5]]], 'limit'],
            [['rules' => [['type' => 'amount_over', 'limit' => 5, 'weight' => 1.5]]], 'weight'],
            [['rules' => [['type' => 'amount_over', 'limit' => 5, 'weight' => 0.5, 'action' => 'approve']]], 'action'],
        ];
        foreach ($bad as [$rules, $needle]) {
            try {
                FraudScorer::checkRules($rules);
                $this->fail('accepted ' . json_encode($rules));
            } catch (ParseException $e) {
                $this->assertStringContainsString($needle, $e->getMessage());
                $this->assertSame(3, $e->getCode());
            }
        }
        $this->expectException(ParseException::class);
        FraudScorer::rulesOnly(['rules' => [['type' => 'velocity_count', 'window' => '5m', 'max_count' => 2, 'weight' => 0.3]]]);
    }

    public function testBadTransactionsAreInvalidArguments(): void
    {
        $scorer = self::coldStart();
        $cases = [
            'NaN amount' => [self::txn(['amount' => NAN]), [], 'amount must be a finite number'],
            'negative amount' => [self::txn(['amount' => -3]), [], 'amount must be a finite number'],
            'no amount' => [['timestamp' => self::T0], [], 'has no amount'],
            'string amount' => [self::txn(['amount' => '12']), [], 'amount must be a number'],
            'naive date' => [self::txn(['timestamp' => '2026-01-08 19:20:00']), [], 'ISO 8601 with an offset'],
            'year 2300' => [self::txn(['timestamp' => 10_500_000_000]), [], 'outside 1970-01-01..2200-01-01'],
            'code outside schema' => [self::txn(['country' => 999]), [], 'country code 999'],
            'history NaN' => [self::txn(), [['amount' => NAN, 'timestamp' => self::T0 - 60]], 'history row 0'],
            'history no timestamp' => [self::txn(), [['amount' => 3.0]], 'history[0] has no timestamp'],
            'history bad outcome' => [self::txn(), [['amount' => 3.0, 'timestamp' => 1, 'outcome' => 'maybe']], 'outcome'],
            'columns differ' => [self::txn(), ['amount' => [1.0, 2.0], 'timestamp' => [1]], 'differ in length'],
        ];
        foreach ($cases as $name => [$txn, $history, $needle]) {
            try {
                $scorer->score($txn, $history);
                $this->fail("{$name} was accepted");
            } catch (InvalidArgumentException $e) {
                $this->assertStringContainsString($needle, $e->getMessage(), $name);
                $this->assertSame(1, $e->getCode(), $name);
            }
        }
        $this->expectException(InvalidArgumentException::class);
        $scorer->code('planet', 'Mars');
    }

    public function testBadFitsBytesAndSettings(): void
    {
        [$transactions, $labels] = self::labelled();
        $schema = ['countries' => ['DE', 'FR']];
        $expect = function (callable $call, string $class, string $needle): void {
            try {
                $call();
                $this->fail("accepted; expected {$class}");
            } catch (TenantMlException $e) {
                $this->assertInstanceOf($class, $e);
                $this->assertStringContainsString($needle, $e->getMessage());
            }
        };
        $expect(fn () => FraudScorer::fit($transactions, array_slice($labels, 1), $schema), InvalidArgumentException::class, 'labels');
        $expect(fn () => FraudScorer::fit($transactions, array_fill(0, count($labels), 0), $schema), InvalidArgumentException::class, 'both fraud and legitimate');
        $expect(fn () => FraudScorer::fit($transactions, $labels, $schema, ['review_at' => -0.2]), InvalidArgumentException::class, 'review_at');
        $expect(fn () => FraudScorer::fit($transactions, $labels, $schema, ['speed' => 11]), ParseException::class, 'speed');
        $expect(fn () => FraudScorer::fit($transactions, $labels, ['continents' => []]), ParseException::class, 'continents');
        $expect(fn () => FraudScorer::coldStart('tomorrow'), InvalidArgumentException::class, 'tomorrow');
        $expect(fn () => FraudScorer::coldStart(['customers' => 0]), InvalidArgumentException::class, 'customers');
        $expect(fn () => FraudScorer::fromBytes('garbage'), BadModelFileException::class, 'bad model file');
        $bytes = FraudScorer::rulesOnly()->toBytes();
        $expect(fn () => FraudScorer::fromBytes(substr($bytes, 0, intdiv(strlen($bytes), 2))), BadModelFileException::class, 'bad model file');
        $expect(fn () => FraudScorer::rulesOnly()->setThresholds(0.8, 0.2), InvalidArgumentException::class, 'review_at <= decline_at');
        $expect(fn () => FraudScorer::load($this->tempDir() . '/missing.tml'), \TenantMl\Exception\IoException::class, 'missing.tml');
    }

    /**
     * 60 customers buying daily from Germany; 10 of them then show a card-testing
     * burst on a new card (the fraud).
     *
     * @return array{0: list<array<string, mixed>>, 1: list<bool>}
     */
    private static function labelled(): array
    {
        mt_srand(7);
        $transactions = [];
        $labels = [];
        for ($c = 0; $c < 60; $c++) {
            for ($d = 14; $d >= 1; $d--) {
                $transactions[] = [
                    'amount' => 20.0 + mt_rand(0, 2000) / 100,
                    'timestamp' => self::T0 - $d * self::DAY + mt_rand(0, 36000),
                    'customer' => $c,
                    'payment_method' => "card_{$c}",
                    'currency' => 'EUR',
                    'country' => 'DE',
                    'ip_country' => 'DE',
                    'category' => 'books',
                ];
                $labels[] = false;
            }
            if ($c % 6 === 0) {
                for ($i = 0; $i < 6; $i++) {
                    $transactions[] = [
                        'amount' => 1.0,
                        'timestamp' => self::T0 - 3600 + 30 * $i,
                        'customer' => $c,
                        'payment_method' => "stolen_{$c}",
                        'country' => 'FR',
                        'ip_country' => 'FR',
                        'outcome' => $i < 5 ? 'failed' : 'succeeded',
                    ];
                    $labels[] = true;
                }
            }
        }
        return [$transactions, $labels];
    }
}
