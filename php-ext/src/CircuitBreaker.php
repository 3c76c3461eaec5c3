<?php

declare(strict_types=1);

namespace TenantMl;

use FFI;
use FFI\CData;
use TenantMl\Exception\CircuitOpenException;
use TenantMl\Exception\TenantMlException;

/**
 * A named circuit breaker in a BreakerStore (closed / open / half-open, plus
 * forced-open and disabled).
 *
 *     $breaker = BreakerStore::shared()->breaker('payments-api', ['open_wait_ms' => 30000]);
 *     $charge = $breaker->call(
 *         fn () => $gateway->charge($order),
 *         fn (\Throwable $e) => $this->queueForRetry($order),
 *     );
 *
 * or, when the call cannot be wrapped in a closure:
 *
 *     $permit = $breaker->allow();              // throws CircuitOpenException
 *     try { $r = $gateway->charge($order); } catch (\Throwable $e) { $breaker->record($permit, false); throw $e; }
 *     $breaker->record($permit, true);
 *
 * The native TmlBreakerCall structs are allocated once per breaker and reused,
 * so a guarded call costs two one-argument FFI calls and no allocation besides
 * the Permit object.
 */
final class CircuitBreaker
{
    private ?CData $handle;

    /**
     * TmlBreakerCall used by allow()/record(): one-argument FFI calls are the cheapest
     * (PHP's FFI pays per argument). Its permit is the TmlPermit the PermitSlot holds.
     */
    private CData $explicitCall;
    private CData $explicitCallPtr;
    /** The TmlPermit reused by allow() and the Permit whose values it holds. */
    private PermitSlot $slot;
    private CData $permitPtr;
    /** Cloned by allow(): cheaper than a constructor call. */
    private Permit $prototype;

    /** TmlBreakerCall used by call(), kept apart so allow() inside $fn cannot clobber it. */
    private CData $closureCall;
    private CData $closureCallPtr;
    private bool $inCall = false;

    private CData $transition;
    private CData $transitionPtr;

    private CData $stateOut;
    private CData $stateOutPtr;

    /**
     * @internal use BreakerStore::breaker()
     */
    public function __construct(
        private readonly BreakerStore $store,
        private readonly FFI $ffi,
        CData $handle,
        public readonly string $name,
    ) {
        $this->handle = $handle;
        $this->explicitCall = $ffi->new('TmlBreakerCall');
        $this->explicitCall->breaker = $handle;
        $this->explicitCallPtr = FFI::addr($this->explicitCall);
        // A view into explicitCall, not a copy: the library writes it on call_begin.
        $permit = $this->explicitCall->permit;
        $this->slot = new PermitSlot($permit);
        $this->permitPtr = FFI::addr($permit);
        $this->prototype = new Permit($this->slot);
        $this->closureCall = $ffi->new('TmlBreakerCall');
        $this->closureCall->breaker = $handle;
        $this->closureCallPtr = FFI::addr($this->closureCall);
        $this->transition = $ffi->new('TmlTransition');
        $this->transitionPtr = FFI::addr($this->transition);
        $this->stateOut = $ffi->new('TmlBreakerState');
        $this->stateOutPtr = FFI::addr($this->stateOut);
    }

    /**
     * Ask to make a call. Returns a Permit to hand back to record().
     *
     * @throws CircuitOpenException when the breaker rejects the call (retryAfterMs() says when to retry)
     */
    public function allow(): Permit
    {
        $slot = $this->slot;
        if ($slot->current !== null) {
            // An earlier permit is still outstanding: keep its values before reuse.
            $slot->current->detach();
            $slot->current = null;
        }
        $status = $this->ffi->tml_breaker_call_begin($this->explicitCallPtr);
        if ($status !== 0) {
            throw $this->rejection($status, $slot->native);
        }
        return $slot->current = clone $this->prototype;
    }

    /**
     * Report the outcome of a call admitted by allow(). Each permit is recorded once.
     *
     * @param float|null $durationMs how long the call took; null = measured by the library since allow()
     * @return Transition|null the state change this outcome caused, if any
     * @throws \TenantMl\Exception\InvalidArgumentException for a spent permit or one from another breaker
     */
    public function record(Permit $permit, bool $success, ?float $durationMs = null): ?Transition
    {
        $slot = $this->slot;
        if ($permit === $slot->current) {
            $slot->current = null;
        } else {
            if ($slot->current !== null) {
                $slot->current->detach();
                $slot->current = null;
            }
            $permit->restore($slot, $this->name);
        }
        $ffi = $this->ffi;
        if ($durationMs === null) {
            $status = $success
                ? $ffi->tml_breaker_call_success($this->explicitCallPtr)
                : $ffi->tml_breaker_call_failure($this->explicitCallPtr);
            $t = $this->explicitCall->transition;
        } else {
            $status = $ffi->tml_breaker_record(
                $this->handle,
                $this->permitPtr,
                $success ? 0 : 1,
                (int) round($durationMs * 1e6),
                $this->transitionPtr
            );
            $t = $this->transition;
        }
        if ($status !== 0) {
            throw Native::exception($status, $ffi);
        }
        return $t->occurred ? Transition::fromStates($t->from, $t->to) : null;
    }

    /**
     * Run $fn under the breaker.
     *
     * - rejected: returns $fallback(CircuitOpenException), or throws it when there is no fallback;
     * - $fn throws: records a failure, then returns $fallback($e) or rethrows $e;
     * - $fn returns: records a success and returns its value.
     *
     * @template T
     * @param callable(): T $fn
     * @param (callable(\Throwable): T)|null $fallback
     * @return T
     */
    public function call(callable $fn, ?callable $fallback = null): mixed
    {
        if ($this->inCall) {
            return $this->nestedCall($fn, $fallback);
        }
        $ffi = $this->ffi;
        $status = $ffi->tml_breaker_call_begin($this->closureCallPtr);
        if ($status !== 0) {
            $rejection = $this->rejection($status, $this->closureCall->permit);
            if ($fallback === null) {
                throw $rejection;
            }
            return $fallback($rejection);
        }
        $this->inCall = true;
        try {
            $value = $fn();
        } catch (\Throwable $e) {
            $this->inCall = false;
            $status = $ffi->tml_breaker_call_failure($this->closureCallPtr);
            if ($status !== 0) {
                throw Native::exception($status, $ffi);
            }
            if ($fallback === null) {
                throw $e;
            }
            return $fallback($e);
        }
        $this->inCall = false;
        $status = $ffi->tml_breaker_call_success($this->closureCallPtr);
        if ($status !== 0) {
            throw Native::exception($status, $ffi);
        }
        return $value;
    }

    /** Current state: "closed", "open", "half_open", "forced_open" or "disabled". */
    public function state(): string
    {
        $status = $this->ffi->tml_breaker_state($this->handle, $this->stateOutPtr);
        if ($status !== 0) {
            throw Native::exception($status, $this->ffi);
        }
        return Transition::STATES[$this->stateOut->cdata];
    }

    /**
     * Snapshot: name, state, consecutive_failures, consecutive_openings,
     * retry_after_ms, window {calls, failures, slow_calls, failure_rate,
     * slow_call_rate}, totals {successes, failures, slow_calls, rejected},
     * transitions, last_transition {from, to, age_ms}|null, config_hash.
     *
     * @return array<string, mixed>
     */
    public function snapshot(): array
    {
        return Native::decodeJson($this->json('tml_breaker_snapshot_json'));
    }

    /**
     * The effective configuration (every key, defaults filled in).
     *
     * @return array<string, mixed>
     */
    public function config(): array
    {
        return Native::decodeJson($this->json('tml_breaker_config_json'));
    }

    /** Reject every call until reset() (operator switch). */
    public function forceOpen(): ?Transition
    {
        return $this->command('tml_breaker_force_open');
    }

    /** Admit every call and stop counting until reset() (operator switch). */
    public function disable(): ?Transition
    {
        return $this->command('tml_breaker_disable');
    }

    /** Back to closed with empty counters. */
    public function reset(): ?Transition
    {
        return $this->command('tml_breaker_reset');
    }

    /** The store this breaker lives in. */
    public function store(): BreakerStore
    {
        return $this->store;
    }

    public function __destruct()
    {
        if ($this->handle !== null) {
            $this->ffi->tml_breaker_free($this->handle);
            $this->handle = null;
        }
    }

    /** call() re-entered from inside $fn: use a Permit so the outer call's TmlPermit stays intact. */
    private function nestedCall(callable $fn, ?callable $fallback): mixed
    {
        try {
            $permit = $this->allow();
        } catch (CircuitOpenException $rejection) {
            if ($fallback === null) {
                throw $rejection;
            }
            return $fallback($rejection);
        }
        try {
            $value = $fn();
        } catch (\Throwable $e) {
            $this->record($permit, false);
            if ($fallback === null) {
                throw $e;
            }
            return $fallback($e);
        }
        $this->record($permit, true);
        return $value;
    }

    private function rejection(int $status, CData $permit): TenantMlException
    {
        if ($status !== Native::STATUS_CIRCUIT_OPEN) {
            return Native::exception($status, $this->ffi);
        }
        return CircuitOpenException::fromPermit($this->name, $permit->retry_after_ms);
    }

    private function json(string $function): string
    {
        $out = $this->ffi->new('char*');
        $status = $this->ffi->$function($this->handle, FFI::addr($out));
        if ($status !== 0) {
            throw Native::exception($status, $this->ffi);
        }
        return Native::takeString($this->ffi, $out);
    }

    private function command(string $function): ?Transition
    {
        $status = $this->ffi->$function($this->handle, $this->transitionPtr);
        if ($status !== 0) {
            throw Native::exception($status, $this->ffi);
        }
        $t = $this->transition;
        return $t->occurred ? Transition::fromStates($t->from, $t->to) : null;
    }
}
