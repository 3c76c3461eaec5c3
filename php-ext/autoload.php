<?php

declare(strict_types=1);

/*
 * PSR-4 autoloader for TenantMl\ -> src/, for use without Composer
 * (tests, benchmarks, examples, or `require 'php-ext/autoload.php'` in an app).
 * With Composer, composer.json's autoload section does the same.
 */

spl_autoload_register(static function (string $class): void {
    $prefix = 'TenantMl\\';
    if (strncmp($class, $prefix, strlen($prefix)) !== 0) {
        return;
    }
    $file = __DIR__ . '/src/' . str_replace('\\', '/', substr($class, strlen($prefix))) . '.php';
    if (is_file($file)) {
        require $file;
    }
});
