<?php

declare(strict_types=1);

namespace TenantMl\Tests;

use TenantMl\BreakerStore;
use TenantMl\Exception\ConfigMismatchException;
use TenantMl\Exception\InvalidArgumentException;
use TenantMl\Exception\IoException;
use TenantMl\Exception\ParseException;
use TenantMl\Exception\StoreCorruptException;
use TenantMl\Exception\StoreFullException;

/** Bad input through PHP: the exact exception class, status and message. */
final class ValidationTest extends TestCase
{
    public function testEmptyNameIsRejected(): void
    {
        $this->expectException(InvalidArgumentException::class);
        $this->expectExceptionCode(1);
        $this->expectExceptionMessage('invalid argument: breaker name must be 1..=64 bytes without NUL, got 0 bytes');
        BreakerStore::inProcess()->breaker('');
    }

    public function testSixtyFiveByteNameIsRejected(): void
    {
        $this->expectException(InvalidArgumentException::class);
        $this->expectExceptionMessage('invalid argument: breaker name must be 1..=64 bytes without NUL, got 65 bytes');
        BreakerStore::inProcess()->breaker(str_repeat('a', 65));
    }

    public function testSixtyFourByteNameIsAccepted(): void
    {
        $name = str_repeat('a', 64);
        $this->assertSame($name, BreakerStore::inProcess()->breaker($name)->snapshot()['name']);
    }

    public function testMultiByteUtf8NameIsAccepted(): void
    {
        $this->assertSame('café-api', BreakerStore::inProcess()->breaker('café-api')->snapshot()['name']);
    }

    public function testNameWithNulByteIsRejectedBeforeCTruncatesIt(): void
    {
        $this->expectException(InvalidArgumentException::class);
        $this->expectExceptionMessage('invalid argument: breaker name must be 1..=64 bytes without NUL, got 3 bytes');
        BreakerStore::inProcess()->breaker("a\0b");
    }

    public function testNameThatIsNotUtf8IsRejected(): void
    {
        $this->expectException(InvalidArgumentException::class);
        $this->expectExceptionMessage(
            'invalid argument: name is not valid UTF-8: invalid utf-8 sequence of 1 bytes from index 0'
        );
        BreakerStore::inProcess()->breaker("\xff\xfe");
    }

    public function testUnknownConfigKeyIsAParseError(): void
    {
        $this->expectException(ParseException::class);
        $this->expectExceptionCode(3);
        $this->expectExceptionMessage('parse error: unknown field `open_wait`, expected one of');
        BreakerStore::inProcess()->breaker('payments-api', ['open_wait' => 100]);
    }

    public function testConfigValueOfTheWrongTypeIsAParseError(): void
    {
        $this->expectException(ParseException::class);
        $this->expectExceptionMessage('parse error: invalid type: string "soon", expected u64 at line 1 column 22');
        BreakerStore::inProcess()->breaker('payments-api', ['open_wait_ms' => 'soon']);
    }

    public function testUnknownSlidingWindowKindIsAParseError(): void
    {
        $this->expectException(ParseException::class);
        $this->expectExceptionMessage('parse error: unknown variant `calls`, expected `count` or `time`');
        BreakerStore::inProcess()->breaker('payments-api', ['sliding_window' => ['kind' => 'calls', 'size' => 5]]);
    }

    public function testConfigThatCannotBeJsonIsAParseError(): void
    {
        $this->expectException(ParseException::class);
        $this->expectExceptionMessage('parse error: cannot encode as JSON: Inf and NaN cannot be JSON encoded');
        BreakerStore::inProcess()->breaker('payments-api', ['failure_rate_threshold' => NAN]);
    }

    public function testFailureRateAboveOneIsInvalid(): void
    {
        $this->expectException(InvalidArgumentException::class);
        $this->expectExceptionMessage('invalid argument: failure_rate_threshold must be in (0, 1], got 1.5');
        BreakerStore::inProcess()->breaker('payments-api', ['failure_rate_threshold' => 1.5]);
    }

    public function testZeroHalfOpenPermitsIsInvalid(): void
    {
        $this->expectException(InvalidArgumentException::class);
        $this->expectExceptionMessage('invalid argument: half_open_permits must be in 1..=16, got 0');
        BreakerStore::inProcess()->breaker('payments-api', ['half_open_permits' => 0]);
    }

    public function testSeventeenHalfOpenPermitsIsInvalid(): void
    {
        $this->expectException(InvalidArgumentException::class);
        $this->expectExceptionMessage('invalid argument: half_open_permits must be in 1..=16, got 17');
        BreakerStore::inProcess()->breaker('payments-api', ['half_open_permits' => 17]);
    }

    public function testBackoffMultiplierBelowOneIsInvalid(): void
    {
        $this->expectException(InvalidArgumentException::class);
        $this->expectExceptionMessage('invalid argument: backoff_multiplier must be a finite number >= 1, got 0.5');
        BreakerStore::inProcess()->breaker('payments-api', ['backoff_multiplier' => 0.5]);
    }

    public function testForeignFileInTheStoreDirIsStoreCorrupt(): void
    {
        $dir = $this->tempDir();
        file_put_contents("{$dir}/tenantml-breakers.shm", str_repeat("hello world, not a store\n", 100));

        $this->expectException(StoreCorruptException::class);
        $this->expectExceptionCode(203);
        $this->expectExceptionMessage(
            "breaker store corrupt: {$dir}/tenantml-breakers.shm: "
            . 'not a tenantml breaker store (magic 6f77206f6c6c6568); remove it or choose another file name'
        );
        BreakerStore::shared($dir);
    }

    public function testTruncatedStoreFileIsStoreCorrupt(): void
    {
        $dir = $this->tempDir();
        file_put_contents("{$dir}/tenantml-breakers.shm", 'abc');

        $this->expectException(StoreCorruptException::class);
        $this->expectExceptionMessage(
            "breaker store corrupt: {$dir}/tenantml-breakers.shm: not a tenantml breaker store (only 3 bytes); "
            . 'remove it or choose another file name'
        );
        BreakerStore::shared($dir);
    }

    public function testStoreDirThatCannotBeCreatedIsAnIoError(): void
    {
        $this->expectException(IoException::class);
        $this->expectExceptionCode(4);
        $this->expectExceptionMessage(
            'I/O error: creating /proc/nonexistent/tenantml: No such file or directory (os error 2)'
        );
        BreakerStore::shared('/proc/nonexistent/tenantml');
    }

    public function testUnknownSharedStoreOptionIsAParseError(): void
    {
        $this->expectException(ParseException::class);
        $this->expectExceptionMessage(
            'parse error: unknown field `size`, expected one of `dir`, `file_name`, `capacity`, `mode`'
        );
        BreakerStore::shared($this->tempDir(), ['size' => 10]);
    }

    public function testStoreFileNameWithASlashIsInvalid(): void
    {
        $this->expectException(InvalidArgumentException::class);
        $this->expectExceptionMessage('invalid argument: file_name must be a plain file name, got "a/b"');
        BreakerStore::shared($this->tempDir(), ['file_name' => 'a/b']);
    }

    public function testZeroCapacityIsInvalid(): void
    {
        $this->expectException(InvalidArgumentException::class);
        $this->expectExceptionMessage('invalid argument: capacity must be in 1..=4096, got 0');
        BreakerStore::shared($this->tempDir(), ['capacity' => 0]);
    }

    public function testFullSharedStoreRefusesANewBreaker(): void
    {
        $store = BreakerStore::shared($this->tempDir(), ['capacity' => 2]);
        $store->breaker('one');
        $store->breaker('two');

        $this->expectException(StoreFullException::class);
        $this->expectExceptionCode(202);
        $this->expectExceptionMessage(
            'breaker store is full: all 2 slots are taken (open the store with a larger capacity)'
        );
        $store->breaker('three');
    }

    public function testOtherConfigForAStoredBreakerIsAMismatch(): void
    {
        $store = BreakerStore::shared($this->tempDir());
        $store->breaker('payments-api', ['open_wait_ms' => 100]);

        $this->expectException(ConfigMismatchException::class);
        $this->expectExceptionCode(201);
        $this->expectExceptionMessageMatches(
            "/^breaker 'payments-api' exists in the shared store with another configuration "
            . '\(stored hash [0-9a-f]{16}, requested [0-9a-f]{16}\); use the same settings everywhere '
            . 'or open it with adopt_stored_config$/'
        );
        $store->breaker('payments-api', ['open_wait_ms' => 200]);
    }

    public function testAdoptStoredConfigUsesTheStoredOne(): void
    {
        $store = BreakerStore::shared($this->tempDir());
        $store->breaker('payments-api', ['open_wait_ms' => 100]);

        $adopted = $store->breaker('payments-api', ['open_wait_ms' => 200], true);

        $this->assertSame(100, $adopted->config()['open_wait_ms']);
    }
}
