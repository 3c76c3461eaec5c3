<?php

declare(strict_types=1);

namespace TenantMl\Tests;

use TenantMl\Exception;
use TenantMl\Native;

/** Loading the library, the ABI check and the status -> exception mapping. */
final class NativeTest extends TestCase
{
    public function testLoadedLibraryHasTheExpectedAbiVersion(): void
    {
        $this->assertSame(Native::ABI_VERSION, Native::ffi()->tml_abi_version());
    }

    public function testVersionIsTheCrateVersion(): void
    {
        $this->assertMatchesRegularExpression('/^\d+\.\d+\.\d+/', Native::version());
    }

    public function testSourceIsTheScopeOrAnAbsoluteLibraryPath(): void
    {
        Native::ffi();
        $source = Native::source();
        $this->assertTrue($source === 'scope' || ($source[0] === '/' && is_file($source)), (string) $source);
    }

    public function testMissingExplicitLibraryIsNamed(): void
    {
        $this->expectException(Exception\LibraryNotFoundException::class);
        $this->expectExceptionMessage(
            'libtenantml not found; tried: /nonexistent/libtenantml.so (argument). '
            . 'Build it with `cargo build --release` or set TENANTML_LIB'
        );
        Native::findLibrary('/nonexistent/libtenantml.so');
    }

    public function testMissingLibraryFromTheEnvironmentIsNamed(): void
    {
        $saved = getenv('TENANTML_LIB');
        putenv('TENANTML_LIB=/nonexistent/from-env.so');
        try {
            $this->expectExceptionMessage('libtenantml not found; tried: /nonexistent/from-env.so (TENANTML_LIB).');
            Native::findLibrary();
        } finally {
            putenv($saved === false ? 'TENANTML_LIB' : "TENANTML_LIB={$saved}");
        }
    }

    public function testLibraryDefaultsToTheRepositoryBuild(): void
    {
        $saved = getenv('TENANTML_LIB');
        putenv('TENANTML_LIB');
        try {
            $expected = Native::repositoryRoot() . '/target/release/libtenantml.so';
            try {
                $this->assertSame(realpath($expected), Native::findLibrary());
            } catch (Exception\LibraryNotFoundException $e) {
                $this->assertStringContainsString("tried: {$expected} (repository build)", $e->getMessage());
            }
        } finally {
            if ($saved !== false) {
                putenv("TENANTML_LIB={$saved}");
            }
        }
    }

    public function testMissingHeaderFromTheEnvironmentIsNamed(): void
    {
        $saved = getenv('TENANTML_HEADER');
        putenv('TENANTML_HEADER=/nonexistent/tenantml.h');
        try {
            $this->expectException(Exception\LibraryNotFoundException::class);
            $this->expectExceptionMessage(
                'tenantml.h not found; tried: /nonexistent/tenantml.h (TENANTML_HEADER). Set TENANTML_HEADER'
            );
            Native::findHeader('/somewhere/target/release/libtenantml.so');
        } finally {
            putenv($saved === false ? 'TENANTML_HEADER' : "TENANTML_HEADER={$saved}");
        }
    }

    public function testLibraryThatCannotBeLoadedIsReported(): void
    {
        $dir = $this->tempDir();
        file_put_contents("{$dir}/libtenantml.so", 'not an ELF file');
        file_put_contents("{$dir}/tenantml.h", "uint32_t tml_abi_version(void);\n");

        $this->expectException(Exception\LibraryNotFoundException::class);
        $this->expectExceptionMessage(
            "cannot load {$dir}/libtenantml.so with header {$dir}/tenantml.h: Failed loading '{$dir}/libtenantml.so'"
        );
        Native::load("{$dir}/libtenantml.so", "{$dir}/tenantml.h");
    }

    public function testLibraryWithAnotherAbiVersionIsRefused(): void
    {
        $other = Native::ABI_VERSION + 1;
        [$library, $header] = $this->fakeLibrary($other);

        $this->expectException(Exception\AbiMismatchException::class);
        $this->expectExceptionMessage(
            "tenantml ABI mismatch: {$library} reports ABI version {$other}, this PHP package requires ABI version "
            . Native::ABI_VERSION . '; '
            . 'rebuild the library or install the matching tenantml/tenantml version'
        );
        Native::load($library, $header);
    }

    public function testLibraryWithTheSameAbiVersionLoads(): void
    {
        [$library, $header] = $this->fakeLibrary(Native::ABI_VERSION);

        $this->assertSame(Native::ABI_VERSION, Native::load($library, $header)->tml_abi_version());
    }

    public function testHeaderIncludesAndPragmasAreDropped(): void
    {
        $dir = $this->tempDir();
        file_put_contents(
            "{$dir}/tenantml.h",
            "#pragma once\n#include <stdint.h>\n  #define TML_X 1\nuint32_t tml_abi_version(void);\n"
        );

        $this->assertSame("\n\n\nuint32_t tml_abi_version(void);\n", Native::headerDeclarations("{$dir}/tenantml.h"));
    }

    public function testAnotherLibraryPathAfterLoadingIsRefused(): void
    {
        Native::ffi();
        if (Native::usesPreloadedScope()) {
            $this->assertSame(Native::ffi(), Native::ffi('/elsewhere/libtenantml.so'), 'the scope wins over any path');
            return;
        }
        $this->expectException(Exception\TenantMlException::class);
        $this->expectExceptionMessage(
            'libtenantml is already loaded from ' . Native::source()
            . ' in this process; cannot also load /elsewhere/libtenantml.so'
        );
        Native::ffi('/elsewhere/libtenantml.so');
    }

    public function testSameLibraryPathAfterLoadingReturnsTheCachedInstance(): void
    {
        $ffi = Native::ffi();
        $this->assertSame($ffi, Native::ffi(Native::usesPreloadedScope() ? null : Native::source()));
    }

    public function testCheckIgnoresOk(): void
    {
        Native::check(0);
        $this->addToAssertionCount(1);
    }

    /** @return iterable<string, array{int, class-string}> */
    public static function statuses(): iterable
    {
        yield 'invalid argument' => [1, Exception\InvalidArgumentException::class];
        yield 'null pointer' => [2, Exception\NullPointerException::class];
        yield 'parse error' => [3, Exception\ParseException::class];
        yield 'io' => [4, Exception\IoException::class];
        yield 'bad model file' => [100, Exception\BadModelFileException::class];
        yield 'not fitted' => [101, Exception\NotFittedException::class];
        yield 'registry corrupt' => [102, Exception\RegistryCorruptException::class];
        yield 'schema mismatch' => [103, Exception\SchemaMismatchException::class];
        yield 'circuit open' => [200, Exception\CircuitOpenException::class];
        yield 'config mismatch' => [201, Exception\ConfigMismatchException::class];
        yield 'store full' => [202, Exception\StoreFullException::class];
        yield 'store corrupt' => [203, Exception\StoreCorruptException::class];
        yield 'internal panic' => [900, Exception\InternalPanicException::class];
    }

    /** @dataProvider statuses */
    public function testCheckThrowsTheExceptionOfTheStatus(int $status, string $class): void
    {
        Native::ffi();
        try {
            Native::check($status);
            $this->fail("status {$status} must throw");
        } catch (Exception\TenantMlException $e) {
            $this->assertSame($class, get_class($e));
            $this->assertSame($status, $e->getCode());
            $this->assertSame($status, $e->status());
        }
    }

    public function testUnknownStatusIsTheBaseException(): void
    {
        Native::ffi();
        try {
            Native::check(77);
            $this->fail('status 77 must throw');
        } catch (Exception\TenantMlException $e) {
            $this->assertSame(Exception\TenantMlException::class, get_class($e));
            $this->assertStringStartsWith('unknown tenantml status 77: ', $e->getMessage());
        }
    }

    public function testExceptionCarriesTheLastErrorMessage(): void
    {
        try {
            \TenantMl\BreakerStore::inProcess()->breaker('payments-api', ['minimum_calls' => 0]);
        } catch (Exception\InvalidArgumentException) {
        }

        $this->assertSame('invalid argument: minimum_calls must be at least 1', Native::exception(1)->getMessage());
    }

    public function testNullHandleIsANullPointerError(): void
    {
        $ffi = Native::ffi();
        $state = $ffi->new('TmlBreakerState');

        $this->expectException(Exception\NullPointerException::class);
        $this->expectExceptionMessage('null pointer: breaker');
        Native::check($ffi->tml_breaker_state(null, \FFI::addr($state)));
    }

    /** @return array{string, string} a compiled library whose tml_abi_version() returns $abi, and its header */
    private function fakeLibrary(int $abi): array
    {
        $cc = trim((string) shell_exec('command -v cc gcc 2>/dev/null | head -n1'));
        if ($cc === '') {
            $this->markTestSkipped('no C compiler to build a fake library');
        }
        $dir = $this->tempDir();
        file_put_contents("{$dir}/fake.c", "unsigned int tml_abi_version(void) { return {$abi}u; }\n");
        file_put_contents("{$dir}/tenantml.h", "uint32_t tml_abi_version(void);\n");
        $command = sprintf(
            '%s -shared -fPIC -o %s %s 2>&1',
            escapeshellarg($cc),
            escapeshellarg("{$dir}/libfake.so"),
            escapeshellarg("{$dir}/fake.c")
        );
        exec($command, $out, $rc);
        $this->assertSame(0, $rc, implode("\n", $out));
        return ["{$dir}/libfake.so", "{$dir}/tenantml.h"];
    }
}
