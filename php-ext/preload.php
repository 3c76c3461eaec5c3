<?php

/*
 * opcache.preload script for php-fpm with ffi.enable=preload.
 *
 * With ffi.enable=preload, PHP lets only preloaded code use the FFI API
 * (FFI::scope, FFI::addr, FFI::string, $ffi->new, ...). Preloading the
 * TenantMl classes makes their methods "preloaded", so they may use the
 * TENANTML scope that ffi.preload created. php.ini:
 *
 *     ffi.enable=preload
 *     ffi.preload=/abs/path/php-ext/build/tenantml-preload.h   ; bin/tenantml-preload.php
 *     opcache.enable=1
 *     opcache.preload=/abs/path/php-ext/preload.php
 *     opcache.preload_user=www-data
 *
 * An application that already has an opcache.preload script requires this
 * file from it. The Laravel classes are not preloaded (their parents live in
 * the framework); they use the FFI API only through the classes below.
 */

declare(strict_types=1);

require_once __DIR__ . '/autoload.php';

(static function (): void {
    $src = __DIR__ . '/src';
    $iterator = new RecursiveIteratorIterator(new RecursiveDirectoryIterator($src, FilesystemIterator::SKIP_DOTS));
    foreach ($iterator as $file) {
        $relative = substr($file->getPathname(), strlen($src) + 1);
        if ($file->getExtension() !== 'php' || str_starts_with($relative, 'Laravel/')) {
            continue;
        }
        $class = 'TenantMl\\' . str_replace('/', '\\', substr($relative, 0, -4));
        // Loads through the autoloader, parents first, so every class links.
        class_exists($class) || interface_exists($class);
    }
})();
