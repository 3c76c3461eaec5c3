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

    /**
     * php-fpm's setting, under a non-CLI SAPI (php-cgi): with ffi.enable=preload only
     * preloaded code may use the FFI API, so php-ext/preload.php must be the
     * opcache.preload script.
     */
    public function testFpmStyleSapiWorksWithFfiPreloadAndOpcachePreload(): void
    {
        [$cgi, $header, $script] = $this->cgiSetup();

        [$rc, $stdout, $stderr] = self::exec([
            $cgi, '-q',
            '-d', 'ffi.enable=preload', '-d', "ffi.preload={$header}",
            '-d', 'opcache.enable=1', '-d', 'opcache.preload=' . dirname(__DIR__) . '/preload.php',
            '-d', 'opcache.preload_user=' . self::user(),
            $script,
        ]);

        $this->assertSame(0, $rc, $stderr);
        $this->assertSame('scope ok', $stdout);
    }

    public function testFpmStyleSapiWithoutOpcachePreloadExplainsTheRestriction(): void
    {
        [$cgi, $header, $script] = $this->cgiSetup();

        [, $stdout] = self::exec([$cgi, '-q', '-d', 'ffi.enable=preload', '-d', "ffi.preload={$header}", $script]);

        $this->assertSame(
            'TenantMl\\Exception\\TenantMlException: FFI API is restricted by "ffi.enable" configuration directive '
            . '(ffi.enable=preload): with ffi.enable=preload outside the CLI, set ffi.preload to the header from '
            . 'php-ext/bin/tenantml-preload.php and opcache.preload to php-ext/preload.php, or set ffi.enable=true',
            $stdout
        );
    }

    /** @return array{string, string, string} php-cgi, a generated preload header, a script using a breaker */
    private function cgiSetup(): array
    {
        $cgi = dirname(PHP_BINARY) . '/php-cgi';
        if (!is_executable($cgi)) {
            $this->markTestSkipped("no {$cgi} (Debian package php8.2-cgi) to stand in for php-fpm");
        }
        $dir = $this->tempDir();
        [$rc, , $stderr] = self::php([dirname(__DIR__) . '/bin/tenantml-preload.php', "{$dir}/tenantml-preload.h"]);
        $this->assertSame(0, $rc, $stderr);
        file_put_contents("{$dir}/app.php", '<?php
            require ' . var_export(dirname(__DIR__) . '/autoload.php', true) . ';
            try {
                $b = TenantMl\BreakerStore::inProcess()->breaker("x");
                echo TenantMl\Native::source(), " ", $b->call(fn () => "ok");
            } catch (Throwable $e) {
                echo get_class($e), ": ", $e->getMessage();
            }');
        return [$cgi, "{$dir}/tenantml-preload.h", "{$dir}/app.php"];
    }

    private static function user(): string
    {
        if (function_exists('posix_geteuid') && function_exists('posix_getpwuid')) {
            return (string) (posix_getpwuid(posix_geteuid())['name'] ?? 'root');
        }
        return (string) (getenv('USER') ?: 'root');
    }

    /** @return array{int, string, string} exit code, stdout, stderr of PHP_BINARY with $args */
    private static function php(array $args): array
    {
        return self::exec(array_merge([PHP_BINARY], $args));
    }

    /** @return array{int, string, string} exit code, stdout, stderr */
    private static function exec(array $command): array
    {
        $process = proc_open($command, [1 => ['pipe', 'w'], 2 => ['pipe', 'w']], $pipes);
        $stdout = (string) stream_get_contents($pipes[1]);
        $stderr = (string) stream_get_contents($pipes[2]);
        fclose($pipes[1]);
        fclose($pipes[2]);
        return [proc_close($process), $stdout, $stderr];
    }
}
