<?php

declare(strict_types=1);

namespace TenantMl\Tests;

use TenantMl\BreakerStore;
use TenantMl\Native;

/**
 * The ffi.preload path (php-fpm): bin/tenantml-preload.php output, and
 * whether this run uses FFI::scope('TENANTML').
 *
 * The suite runs twice: plain (FFI::cdef) and with
 *     TENANTML_EXPECT_PRELOAD=1 php -d ffi.enable=preload -d ffi.preload=<header> /usr/bin/phpunit ...
 * @group preload
 */
final class PreloadTest extends TestCase
{
    public function testThisRunUsesTheScopeExactlyWhenPreloadIsExpected(): void
    {
        $expected = getenv('TENANTML_EXPECT_PRELOAD') === '1';

        Native::ffi();

        $this->assertSame(
            $expected,
            Native::usesPreloadedScope(),
            $expected
                ? 'TENANTML_EXPECT_PRELOAD=1 but the library was loaded with FFI::cdef from ' . Native::source()
                . ' (ffi.preload=' . var_export(ini_get('ffi.preload'), true) . ')'
                : 'the preloaded scope is in use although TENANTML_EXPECT_PRELOAD is not 1'
        );
    }

    public function testBreakersWorkThroughWhicheverPathIsInUse(): void
    {
        $breaker = BreakerStore::inProcess()->breaker('payments-api');
        $this->assertSame(3, $breaker->call(static fn (): int => 3));
    }

    public function testGeneratorWritesScopeAndAbsoluteLibraryThenTheHeader(): void
    {
        $output = $this->tempDir() . '/tenantml-preload.h';

        [$rc, $stdout, $stderr] = self::php([dirname(__DIR__) . '/bin/tenantml-preload.php', $output]);

        $this->assertSame(0, $rc, $stderr);
        $lines = explode("\n", (string) file_get_contents($output));
        $this->assertSame('#define FFI_SCOPE "TENANTML"', $lines[0]);
        $this->assertMatchesRegularExpression('~^#define FFI_LIB "(/[^"]+/libtenantml\.so)"$~', $lines[1]);
        preg_match('~"(.+)"~', $lines[1], $m);
        $this->assertFileExists($m[1]);
        $this->assertStringContainsString('uint32_t tml_abi_version(void);', (string) file_get_contents($output));
        $this->assertStringContainsString("ffi.enable=preload\n", $stdout);
        $this->assertStringContainsString("ffi.preload={$output}\n", $stdout);
    }

    public function testGeneratorReportsAMissingLibrary(): void
    {
        [$rc, , $stderr] = self::php([
            dirname(__DIR__) . '/bin/tenantml-preload.php',
            '--lib=/nonexistent/libtenantml.so',
            $this->tempDir() . '/x.h',
        ]);

        $this->assertSame(1, $rc);
        $this->assertSame(
            "tenantml-preload: libtenantml not found; tried: /nonexistent/libtenantml.so (argument). "
            . "Build it with `cargo build --release` or set TENANTML_LIB\n",
            $stderr
        );
    }

    public function testAPhpStartedWithTheGeneratedHeaderUsesTheScope(): void
    {
        $header = $this->tempDir() . '/tenantml-preload.h';
        [$rc, , $stderr] = self::php([dirname(__DIR__) . '/bin/tenantml-preload.php', $header]);
        $this->assertSame(0, $rc, $stderr);

        $script = 'require ' . var_export(dirname(__DIR__) . '/autoload.php', true) . ';'
            . '$b = TenantMl\BreakerStore::inProcess()->breaker("x");'
            . 'echo TenantMl\Native::source(), " ", $b->call(fn () => "ok");';
        [$rc, $stdout, $stderr] = self::php(['-d', 'ffi.enable=preload', '-d', "ffi.preload={$header}", '-r', $script]);

        $this->assertSame(0, $rc, $stderr);
        $this->assertSame('scope ok', $stdout);
    }

    /** @return array{int, string, string} exit code, stdout, stderr of PHP_BINARY with $args */
    private static function php(array $args): array
    {
        $process = proc_open(array_merge([PHP_BINARY], $args), [1 => ['pipe', 'w'], 2 => ['pipe', 'w']], $pipes);
        $stdout = (string) stream_get_contents($pipes[1]);
        $stderr = (string) stream_get_contents($pipes[2]);
        fclose($pipes[1]);
        fclose($pipes[2]);
        return [proc_close($process), $stdout, $stderr];
    }
}
