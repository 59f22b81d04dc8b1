/* NUCLEO-L4R5ZI port (STM32L4R5ZI, Cortex-M4F at 120 MHz) on STM32Cube HAL.
 *   UART      LPUART1 on PG7 (TX) / PG8 (RX): the ST-LINK virtual COM port, 115200 8N1, clocked
 *             by HSI16 so 9600 (energy mode) to 921600 (ad01) all work
 *   timer     TIM2, 32-bit, 1 MHz: the m-lap-us counter (wraps like the reference's %lu)
 *   timestamp PF13 (Arduino D7), push-pull, idle high: 1 us low pulse in energy builds
 *   LED       LD1 (PC7) lit while a timed loop runs
 *   faults    HardFault & co. print the fault registers on the UART (boards/common/cortex-m/fault.c);
 *             a failed HAL call prints e-[board: ... failed], lights LD3 (PB14, red) and halts
 * The runner is TFLite Micro when built with EE_TFLM_DIR, otherwise the synthetic self-test. */
#include <string.h>

#include "ee/core.h"
#include "ee/fmt.h"
#include "fault.h"
#include "stm32l4xx_hal.h"

#ifdef EE_WITH_TFLM
#include "tflm_runner.h"
extern const uint8_t ee_model_data[];
static uint8_t g_arena[EE_ARENA_BYTES] __attribute__((aligned(16)));
#else
#include "synthetic.h"
static ee_synthetic g_synthetic;
#endif

#ifndef EE_MODEL
#define EE_MODEL "kws01"
#endif
#ifndef EE_ENERGY_MODE
#define EE_ENERGY_MODE 0
#endif
#ifndef EE_MAX_INPUT
#define EE_MAX_INPUT 27648u
#endif

static UART_HandleTypeDef g_uart;
static TIM_HandleTypeDef g_tim;
static uint8_t g_buffer[EE_MAX_INPUT];
static ee_runner g_runner;
static ee_ctx g_ctx;

#define RING_SIZE 8192u /* power of two; holds a whole binary DATA frame */
static volatile uint8_t g_ring[RING_SIZE];
static volatile uint32_t g_head, g_tail;

/* LPUART1 runs on HSI16, not on the 120 MHz PCLK. Its BRR = 256 * fck / baud must lie in
 * [0x300, 0xFFFFF], i.e. fck / 4096 <= baud <= fck / 3 (the HAL refuses anything else):
 *   fck = 120 MHz: 29 297 .. 40 000 000 baud, so the energy mode's 9600 is impossible;
 *   fck = 16 MHz:   3 907 ..  5 333 333 baud: 9600 (BRR 426 667), 115200 (BRR 35 556) and
 *                   921600 (BRR 4444, +0.01 %) all fit, well inside a UART's +-2 % tolerance.
 * HSI16 also keeps running while SYSCLK switches to the PLL, so the UART can come up first and
 * report a clock-tree failure. */
#define LPUART_CLOCK_HZ 16000000u

/* L4+ parts (USART FIFOs) name the data flags *_RXFNE / *_TXFNF; parts without FIFOs do not. */
#if defined(USART_ISR_RXNE_RXFNE)
#define LPUART_ISR_RXNE USART_ISR_RXNE_RXFNE
#define LPUART_ISR_TXE USART_ISR_TXE_TXFNF
#define LPUART_CR1_RXNEIE USART_CR1_RXNEIE_RXFNEIE
#else
#define LPUART_ISR_RXNE USART_ISR_RXNE
#define LPUART_ISR_TXE USART_ISR_TXE
#define LPUART_CR1_RXNEIE USART_CR1_RXNEIE
#endif
#define LPUART_ISR_ERRORS (USART_ISR_ORE | USART_ISR_FE | USART_ISR_NE | USART_ISR_PE)
#define LPUART_ICR_ERRORS (USART_ICR_ORECF | USART_ICR_FECF | USART_ICR_NECF | USART_ICR_PECF)

/* Polled transmit straight to the data register: usable with interrupts masked (fault and
 * error paths), and no HAL handle lock that the RX interrupt could collide with. */
static void uart_write(const uint8_t *data, size_t len)
{
    while (len--) {
        while (!(LPUART1->ISR & LPUART_ISR_TXE)) {
        }
        LPUART1->TDR = *data++;
    }
}

void board_fault_write(const uint8_t *data, size_t len)
{
    /* Before the UART is enabled (or while its clock is off) CR1 reads 0: say nothing. */
    if (LPUART1->CR1 & USART_CR1_UE) {
        uart_write(data, len);
    }
}

/* A HAL call failed: say which on the UART if it is up, light LD3 (red) and halt. Halting keeps
 * the state for a debugger; a board that carried on with a half-set-up clock or UART would
 * only look deaf or mistimed. */
static void fatal(const char *what, HAL_StatusTypeDef status)
{
    GPIO_InitTypeDef gpio = {0};
    char text[96];
    ee_buf b;
    ee_buf_init(&b, text, sizeof text);
    ee_buf_str(&b, "\r\ne-[board: ");
    ee_buf_str(&b, what);
    ee_buf_str(&b, " failed, HAL status ");
    ee_buf_u32(&b, (uint32_t)status);
    ee_buf_str(&b, "]\r\n");
    board_fault_write((const uint8_t *)text, b.len);
    __HAL_RCC_GPIOB_CLK_ENABLE();
    gpio.Pin = GPIO_PIN_14;
    gpio.Mode = GPIO_MODE_OUTPUT_PP;
    HAL_GPIO_Init(GPIOB, &gpio);
    HAL_GPIO_WritePin(GPIOB, GPIO_PIN_14, GPIO_PIN_SET);
    __disable_irq();
    for (;;) {
        __WFI();
    }
}

static void check(HAL_StatusTypeDef status, const char *what)
{
    if (status != HAL_OK) {
        fatal(what, status);
    }
}

/* The PWR registers are clocked by APB1: without PWREN, the voltage-scale request below is
 * written to a gated peripheral and lost, leaving the core in range 1 normal (80 MHz max). */
static void power(void)
{
    __HAL_RCC_PWR_CLK_ENABLE();
    HAL_PWREx_EnableVddIO2(); /* port G (the UART pins) is on VDDIO2 */
}

/* 120 MHz needs range 1 boost (RM0432: range 1 normal stops at 80 MHz) and 5 flash wait
 * states. HAL_RCC_ClockConfig steps through AHB /2 for the switch above 80 MHz itself. */
static void clock_120mhz(void)
{
    RCC_OscInitTypeDef osc = {0};
    RCC_ClkInitTypeDef clk = {0};
    check(HAL_PWREx_ControlVoltageScaling(PWR_REGULATOR_VOLTAGE_SCALE1_BOOST), "voltage range 1 boost");
    osc.OscillatorType = RCC_OSCILLATORTYPE_MSI;
    osc.MSIState = RCC_MSI_ON;
    osc.MSICalibrationValue = RCC_MSICALIBRATION_DEFAULT;
    osc.MSIClockRange = RCC_MSIRANGE_6; /* 4 MHz */
    osc.PLL.PLLState = RCC_PLL_ON;
    osc.PLL.PLLSource = RCC_PLLSOURCE_MSI;
    osc.PLL.PLLM = 1;
    osc.PLL.PLLN = 60;
    osc.PLL.PLLP = RCC_PLLP_DIV2;
    osc.PLL.PLLQ = RCC_PLLQ_DIV2;
    osc.PLL.PLLR = RCC_PLLR_DIV2; /* 4 MHz * 60 / 2 = 120 MHz (VCO 240 MHz) */
    check(HAL_RCC_OscConfig(&osc), "PLL");
    clk.ClockType = RCC_CLOCKTYPE_HCLK | RCC_CLOCKTYPE_SYSCLK | RCC_CLOCKTYPE_PCLK1 | RCC_CLOCKTYPE_PCLK2;
    clk.SYSCLKSource = RCC_SYSCLKSOURCE_PLLCLK;
    clk.AHBCLKDivider = RCC_SYSCLK_DIV1;
    clk.APB1CLKDivider = RCC_HCLK_DIV1;
    clk.APB2CLKDivider = RCC_HCLK_DIV1;
    check(HAL_RCC_ClockConfig(&clk, FLASH_LATENCY_5), "120 MHz system clock");
}

static void pins(void)
{
    GPIO_InitTypeDef gpio = {0};
    __HAL_RCC_GPIOG_CLK_ENABLE();
    __HAL_RCC_GPIOF_CLK_ENABLE();
    __HAL_RCC_GPIOC_CLK_ENABLE();
    gpio.Pin = GPIO_PIN_7 | GPIO_PIN_8;
    gpio.Mode = GPIO_MODE_AF_PP;
    gpio.Pull = GPIO_PULLUP;
    gpio.Speed = GPIO_SPEED_FREQ_VERY_HIGH;
    gpio.Alternate = GPIO_AF8_LPUART1;
    HAL_GPIO_Init(GPIOG, &gpio);
    HAL_GPIO_WritePin(GPIOF, GPIO_PIN_13, GPIO_PIN_SET);
    gpio.Pin = GPIO_PIN_13;
    gpio.Mode = GPIO_MODE_OUTPUT_PP;
    gpio.Pull = GPIO_NOPULL;
    gpio.Alternate = 0;
    HAL_GPIO_Init(GPIOF, &gpio);
    gpio.Pin = GPIO_PIN_7;
    HAL_GPIO_Init(GPIOC, &gpio);
}

static void uart_clock_hsi16(void)
{
    RCC_OscInitTypeDef osc = {0};
    RCC_PeriphCLKInitTypeDef periph = {0};
    osc.OscillatorType = RCC_OSCILLATORTYPE_HSI;
    osc.HSIState = RCC_HSI_ON;
    osc.HSICalibrationValue = RCC_HSICALIBRATION_DEFAULT;
    osc.PLL.PLLState = RCC_PLL_NONE;
    check(HAL_RCC_OscConfig(&osc), "HSI16 oscillator");
    periph.PeriphClockSelection = RCC_PERIPHCLK_LPUART1;
    periph.Lpuart1ClockSelection = RCC_LPUART1CLKSOURCE_HSI;
    check(HAL_RCCEx_PeriphCLKConfig(&periph), "LPUART1 clock source");
}

/* 3 * baud <= fck <= 4096 * baud: the BRR range above, the HAL's own test. */
static int baud_possible(uint32_t baud)
{
    return baud && 3ull * baud <= LPUART_CLOCK_HZ && LPUART_CLOCK_HZ <= 4096ull * baud;
}

static void uart(uint32_t baud)
{
    __HAL_RCC_LPUART1_CLK_ENABLE();
    g_uart.Instance = LPUART1;
    g_uart.Init.BaudRate = baud;
    g_uart.Init.WordLength = UART_WORDLENGTH_8B;
    g_uart.Init.StopBits = UART_STOPBITS_1;
    g_uart.Init.Parity = UART_PARITY_NONE;
    g_uart.Init.Mode = UART_MODE_TX_RX;
    g_uart.Init.HwFlowCtl = UART_HWCONTROL_NONE;
#if defined(USART_PRESC_PRESCALER)
    g_uart.Init.ClockPrescaler = UART_PRESCALER_DIV1;
#endif
    check(HAL_UART_Init(&g_uart), "LPUART1 setup");
    /* RX by interrupt straight into the ring (LPUART1_IRQHandler), no HAL re-arming per byte. */
    LPUART1->ICR = LPUART_ICR_ERRORS;
    LPUART1->CR1 |= LPUART_CR1_RXNEIE;
    HAL_NVIC_SetPriority(LPUART1_IRQn, 0, 0);
    HAL_NVIC_EnableIRQ(LPUART1_IRQn);
}

static void timer_1mhz(void)
{
    __HAL_RCC_TIM2_CLK_ENABLE();
    g_tim.Instance = TIM2;
    /* With APB1 undivided the timer clock equals PCLK1 (a divided APB1 would double it). */
    g_tim.Init.Prescaler = (uint32_t)(HAL_RCC_GetPCLK1Freq() / 1000000u) - 1u;
    g_tim.Init.CounterMode = TIM_COUNTERMODE_UP;
    g_tim.Init.Period = 0xFFFFFFFFu;
    g_tim.Init.ClockDivision = TIM_CLOCKDIVISION_DIV1;
    check(HAL_TIM_Base_Init(&g_tim), "TIM2 setup");
    check(HAL_TIM_Base_Start(&g_tim), "TIM2 start");
}

void LPUART1_IRQHandler(void)
{
    /* Overrun, framing, noise and parity flags are cleared, or an overrun would re-raise this
     * interrupt for ever; the byte lost shows up to the host as a missing reply or a bad CRC,
     * and it retries. */
    if (LPUART1->ISR & LPUART_ISR_ERRORS) {
        LPUART1->ICR = LPUART_ICR_ERRORS;
    }
    while (LPUART1->ISR & LPUART_ISR_RXNE) {
        uint8_t c = (uint8_t)LPUART1->RDR;
        if (g_head - g_tail < RING_SIZE) {
            g_ring[g_head % RING_SIZE] = c;
            g_head++;
        }
    }
}

void SysTick_Handler(void)
{
    HAL_IncTick();
}

static uint8_t next_byte(void)
{
    uint8_t c;
    for (;;) {
        /* Test with interrupts masked, then WFI: a byte arriving between the test and the
         * WFI leaves its interrupt pending, which ends the WFI at once (PRIMASK does not stop
         * a wake-up); the handler runs when interrupts are enabled again. */
        __disable_irq();
        if (g_head != g_tail) {
            break;
        }
        __DSB();
        __WFI();
        __enable_irq();
    }
    c = g_ring[g_tail % RING_SIZE];
    g_tail++;
    __enable_irq();
    return c;
}

static void hal_write(void *user, const uint8_t *data, size_t len)
{
    (void)user;
    uart_write(data, len);
}

static uint32_t hal_micros(void *user)
{
    (void)user;
    return TIM2->CNT;
}

static void hal_timestamp_pin(void *user)
{
    /* Falling edge held low for at least 1 us (EEMBC requirement), then idle high. */
    uint32_t start;
    (void)user;
    GPIOF->BRR = GPIO_PIN_13;
    start = TIM2->CNT;
    while (TIM2->CNT - start < 2u) {
    }
    GPIOF->BSRR = GPIO_PIN_13;
}

static int hal_set_baud(void *user, uint32_t baud, int apply)
{
    (void)user;
    if (!baud_possible(baud)) {
        return -1;
    }
    if (apply) {
        while (!(LPUART1->ISR & USART_ISR_TC)) {
        }
        HAL_NVIC_DisableIRQ(LPUART1_IRQn);
        check(HAL_UART_DeInit(&g_uart), "LPUART1 reset for a baud change");
        uart(baud);
    }
    return 0;
}

static void hal_led(void *user, int on)
{
    (void)user;
    HAL_GPIO_WritePin(GPIOC, GPIO_PIN_7, on ? GPIO_PIN_SET : GPIO_PIN_RESET);
}

static const ee_hal g_hal = {hal_write, hal_micros, hal_timestamp_pin, NULL, hal_set_baud, hal_led, NULL};

int main(void)
{
    ee_config cfg;
    /* The UART first, on HSI16: every later step can then report a failure. */
    check(HAL_Init(), "HAL init");
    power();
    pins();
    uart_clock_hsi16();
    uart(115200u);
    clock_120mhz();
    timer_1mhz();
#ifdef EE_WITH_TFLM
    if (ee_tflm_init(&g_runner, ee_model_data, EE_MODEL, g_arena, sizeof g_arena) != 0) {
        static const char msg[] = "e-[TFLite Micro init failed: model, profile or arena size]\r\n";
        hal_write(NULL, (const uint8_t *)msg, sizeof msg - 1);
        for (;;) {
            __WFI();
        }
    }
#else
    ee_synthetic_init(&g_synthetic, &g_runner, EE_MODEL, 150000u);
#endif
    memset(&cfg, 0, sizeof cfg);
    cfg.hal = &g_hal;
    cfg.runner = &g_runner;
    cfg.vendor = "edgeperf nucleo-l4r5zi";
    cfg.model = EE_MODEL;
    cfg.buffer = g_buffer;
    cfg.buffer_size = sizeof g_buffer;
    cfg.energy_mode = EE_ENERGY_MODE;
    cfg.binary = 1;
    ee_init(&g_ctx, &cfg);
    for (;;) {
        ee_feed(&g_ctx, next_byte());
    }
}
